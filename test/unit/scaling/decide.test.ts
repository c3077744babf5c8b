import { table, failed, iso, metric, settled } from './fixtures.ts';
import type { HPAScalingPolicy } from '../../../src/scaling/types.ts';

const ACTIVE = settled({ active: true });
const QUIET = settled({ active: false });
const ACTIVE_PARTIAL = { conditions: ACTIVE.conditions?.map((c) => (c.type === 'Ready' ? { type: 'Ready', status: 'Unknown' as const, reason: 'PartialTriggerError', message: 'Some triggers defined in ScaledObject are not working correctly' } : c)) };
const quietSince = (s: number) => ({ ...QUIET, lastActiveTime: iso(s) });
const FORCE = { 'autoscaling.keda.sh/force-activation': 'true' };
const PAUSE_IN = { 'autoscaling.keda.sh/paused-scale-in': 'true' };
const PAUSE_OUT = { 'autoscaling.keda.sh/paused-scale-out': 'true' };
const HALF: HPAScalingPolicy = { type: 'Percent', value: 50, periodSeconds: 60 };
const TWO: HPAScalingPolicy = { type: 'Pods', value: 2, periodSeconds: 60 };
const WIDE_OPEN = { scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 15 }] as HPAScalingPolicy[] } };
const FB = { failureThreshold: 3, replicas: 6 };
const failing = (n: number) => ({ 's0-metric-api-value': { numberOfFailures: n, status: 'Failing' as const } });
const FB5 = { failureThreshold: 3, replicas: 5 };
const failingExternal = (n: number) => ({ 's0-external': { numberOfFailures: n, status: 'Failing' as const } });
// an external trigger whose GetMetricSpec failed: its metric name and target were never learned
const specUnknown = failed('error calling external scaler 127.0.0.1:50051: GetMetricSpec: UNAVAILABLE: connection refused', { type: 'external', name: 's0-external', target: 0 });

table('activation from 0 (KEDA decides, the formula waits)', [
  { name: 'scales a Deployment from 0 to 1 when one trigger is active', c: { replicas: 0, measurements: [metric(3)], status: QUIET }, want: { replicas: 1, reason: /^activated 0 -> 1: s0-metric-api-value active$/, events: ['KEDAScaleTargetActivated'], active: 'True/ScalerActive' } },
  { name: 'scales from 0 to minReplicaCount 3, not to what the metric asks', c: { replicas: 0, spec: { minReplicaCount: 3 }, measurements: [metric(100)], status: QUIET }, want: { replicas: 3, events: ['KEDAScaleTargetActivated'] } },
  { name: 'stays at 0 while no trigger is above its activation threshold', c: { replicas: 0, measurements: [metric(4, { activationTarget: 5 })], status: QUIET }, want: { replicas: 0, events: [], active: 'False/ScalerNotActive' } },
  { name: 'stays at 0 when the value equals the activation threshold (strictly greater activates)', c: { replicas: 0, measurements: [metric(5, { activationTarget: 5 })], status: QUIET }, want: { replicas: 0 } },
  { name: 'force-activation wakes a target whose triggers are quiet', c: { replicas: 0, annotations: FORCE, measurements: [metric(0)], status: QUIET }, want: { replicas: 1, reason: /activation forced/, events: ['KEDAScaleTargetActivated'], active: 'True/ScalerActive' } },
  { name: 'wakes an idle target to minReplicaCount', c: { replicas: 0, spec: { idleReplicaCount: 0, minReplicaCount: 2 }, measurements: [metric(1)], status: QUIET }, want: { replicas: 2 } },
  { name: 'stays at 0 while scale-out is paused, and shows Paused', c: { replicas: 0, annotations: PAUSE_OUT, measurements: [metric(3)], status: QUIET }, want: { replicas: 0, paused: 'True/ScaledObjectPaused', events: ['ScaledObjectPaused'], reason: /scale-out is paused/ } },
]);

table('cooldown and deactivation', [
  { name: 'scales to 0 once the 300 s cooldown has passed', c: { replicas: 3, measurements: [metric(0)], status: quietSince(-301) }, want: { replicas: 0, reason: /^deactivated 3 -> 0/, events: ['KEDAScaleTargetDeactivated'], active: 'False/ScalerNotActive' } },
  { name: 'keeps cooling down at exactly cooldownPeriod', c: { replicas: 3, measurements: [metric(0)], status: quietSince(-300) }, want: { replicas: 3, reason: /cooldown: inactive since .*, 0s left/, events: [], active: 'False/ScalerCooldown' } },
  { name: 'scales in after a custom cooldownPeriod of 60 s', c: { replicas: 3, spec: { cooldownPeriod: 60 }, measurements: [metric(0)], status: quietSince(-61) }, want: { replicas: 0 } },
  { name: 'scales a never-active object at 2 to 0 on its first pass (initialCooldownPeriod 0)', c: { replicas: 2, measurements: [metric(0)] }, want: { replicas: 0, events: ['ScaledObjectReady', 'KEDAScaleTargetDeactivated'] } },
  { name: 'keeps a new object up during initialCooldownPeriod', c: { replicas: 2, spec: { initialCooldownPeriod: 120 }, created: -60, measurements: [metric(0)] }, want: { replicas: 2, reason: /initial cooldown/, active: 'False/ScalerCooldown' } },
  { name: 'scales to idleReplicaCount, not 0, after cooldown', c: { replicas: 4, spec: { idleReplicaCount: 1, minReplicaCount: 2 }, measurements: [metric(0)], status: quietSince(-301) }, want: { replicas: 1, events: ['KEDAScaleTargetDeactivated'] } },
  // the first quiet pass after activity counts from the previous evaluation, which saw it active (KEDA stamped it then)
  { name: 'starts the cooldown on the first quiet pass after activity: 60 s since the last active pass of 300', c: { replicas: 3, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) }, previous: -60 }, want: { replicas: 3, active: 'False/ScalerCooldown', reason: /cooldown: inactive since 2025-03-01T09:59:00Z, 240s left/ } },
  { name: 'with cooldownPeriod 0 goes to 0 on the first quiet pass', c: { replicas: 3, spec: { cooldownPeriod: 0 }, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) }, previous: -60 }, want: { replicas: 0 } },
  // KEDA: lastActiveTime = 09:59:57 (the poll 2.5 s ago, whole seconds), + 1 s = 09:59:58 < 10:00:00
  { name: 'with cooldownPeriod 1 goes 4 -> 0 on the first quiet pass 2.5 s after the last active one, as KEDA', c: { replicas: 4, spec: { cooldownPeriod: 1 }, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-60) }, previous: -2.5 }, want: { replicas: 0, reason: /^deactivated 4 -> 0: inactive since 2025-03-01T09:59:57Z, cooldown 1s elapsed/, events: ['KEDAScaleTargetDeactivated'], active: 'False/ScalerNotActive' } },
  { name: 'the first quiet pass 301 s after the last active one (pollingInterval 301) scales in at once', c: { replicas: 3, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) }, previous: -301 }, want: { replicas: 0 } },
  { name: 'the first quiet pass exactly 300 s after the last active one still cools down', c: { replicas: 3, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) }, previous: -300 }, want: { replicas: 3, active: 'False/ScalerCooldown', reason: /0s left/ } },
  // no record of the shard's passes: the previous evaluation was before this pass, at the latest in this very second
  { name: 'without a record of the previous evaluation counts from this pass\'s second: cooldown 0 at 10:00:00.000 cools down', c: { replicas: 3, spec: { cooldownPeriod: 0 }, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) } }, want: { replicas: 3, active: 'False/ScalerCooldown' } },
  { name: 'without a record, cooldown 0 at 10:00:00.400 goes to 0 (10:00:00 + 0 s < 10:00:00.400, as KEDA compares with its clock)', c: { replicas: 3, spec: { cooldownPeriod: 0 }, measurements: [metric(0)], status: { ...ACTIVE, lastActiveTime: iso(-3600) }, now: 0.4 }, want: { replicas: 0 } },
  // KEDA does not stamp a poll with a failed trigger: the stamp before it counts
  { name: 'after active passes with a failed trigger (PartialTriggerError) counts from the stamp before them: 400 s ago, 3 -> 0', c: { replicas: 3, measurements: [metric(0)], status: { ...ACTIVE_PARTIAL, lastActiveTime: iso(-400) }, previous: -60 }, want: { replicas: 0 } },
  { name: 'keeps minReplicaCount 2 when quiet, without a deactivation', c: { replicas: 2, spec: { minReplicaCount: 2 }, measurements: [metric(0)], status: quietSince(-1000) }, want: { replicas: 2, events: [], active: 'False/ScalerNotActive' } },
  { name: 'raises a quiet target below minReplicaCount to it', c: { replicas: 1, spec: { minReplicaCount: 3 }, measurements: [metric(0)], status: quietSince(-1000) }, want: { replicas: 3, reason: /raised 1 -> 3/, events: [] } },
  { name: 'keeps a quiet target while scale-in is paused', c: { replicas: 3, annotations: PAUSE_IN, measurements: [metric(0)], status: quietSince(-1000) }, want: { replicas: 3, paused: 'True/ScaledObjectPaused' } },
]);

table('the replica formula (HPA autoscaling/v2, no behavior)', [
  { name: 'worked example 1: 23 items, target 5, 2 pods -> 4 (scale-up limit)', c: { replicas: 2, measurements: [metric(23)], status: ACTIVE }, want: { replicas: 4, reason: /wants 5.*scale-up limited to 4/, events: ['SuccessfulRescale'] } },
  { name: 'worked example 1, next pass: 4 pods -> 5', c: { replicas: 4, measurements: [metric(23)], status: ACTIVE }, want: { replicas: 5 } },
  { name: 'worked example 2: keeps 4 pods at 21 items (5% over target)', c: { replicas: 4, measurements: [metric(21)], status: ACTIVE }, want: { replicas: 4, events: [] } },
  { name: 'worked example 2: 4 -> 5 pods at 22.5 items (12.5% over target)', c: { replicas: 4, measurements: [metric(22.5)], status: ACTIVE }, want: { replicas: 5 } },
  { name: 'keeps 4 pods at exactly 10% over target', c: { replicas: 4, measurements: [metric(22)], status: ACTIVE }, want: { replicas: 4 } },
  { name: 'scales 4 -> 5 pods just over 10% over target', c: { replicas: 4, measurements: [metric(22.001)], status: ACTIVE }, want: { replicas: 5 } },
  { name: 'worked example 4: Value 250 / 100 with 3 ready pods -> 8', c: { replicas: 3, behavior: WIDE_OPEN, measurements: [metric(250, { metricType: 'Value', target: 100 })], status: ACTIVE }, want: { replicas: 8 } },
  { name: 'worked example 4: Value 250 / 100 with 2 of 3 pods ready -> 5', c: { replicas: 3, target: { readyReplicas: 2 }, behavior: WIDE_OPEN, measurements: [metric(250, { metricType: 'Value', target: 100 })], status: ACTIVE }, want: { replicas: 5 } },
  { name: 'the largest of three triggers wins', c: { replicas: 4, measurements: [metric(5), metric(30, { index: 1 }), metric(12, { index: 2 })], status: ACTIVE }, want: { replicas: 6, reason: /s1-metric-api-value wants 6/ } },
  { name: 'worked example 7: holds 6 when one trigger fails and the other asks for 4', c: { replicas: 6, measurements: [metric(20), failed('timeout', { index: 1 })], status: ACTIVE }, want: { replicas: 6, ready: 'Unknown/PartialTriggerError', events: ['KEDAScalerFailed'], reason: /never lets the target shrink/ } },
  { name: 'worked example 7: scales 6 -> 8 when one trigger fails and the other asks for 8', c: { replicas: 6, measurements: [metric(40), failed('timeout', { index: 1 })], status: ACTIVE }, want: { replicas: 8, events: ['KEDAScalerFailed', 'SuccessfulRescale'] } },
  { name: 'stops at maxReplicaCount', c: { replicas: 8, spec: { maxReplicaCount: 10 }, measurements: [metric(200)], status: ACTIVE }, want: { replicas: 10, reason: /limited by maxReplicaCount 10/ } },
  { name: 'brings a target above maxReplicaCount down at once', c: { replicas: 12, spec: { maxReplicaCount: 10 }, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 10, reason: /above maxReplicaCount 10/ } },
  { name: 'lifts an active target below minReplicaCount at once', c: { replicas: 1, spec: { minReplicaCount: 3 }, measurements: [metric(1)], status: ACTIVE }, want: { replicas: 3, reason: /below the minimum 3/ } },
  { name: 'scales down to 1, never 0, while a trigger is active', c: { replicas: 3, measurements: [metric(0.1)], status: { ...ACTIVE, recommendations: [{ time: iso(-1000), replicas: 1 }] } }, want: { replicas: 1, events: ['SuccessfulRescale'] } },
  { name: 'holds a first proposal below the current count for the downscale window', c: { replicas: 6, measurements: [metric(5)], status: ACTIVE }, want: { replicas: 6, reason: /held at 6/ } },
  { name: 'never scales down because the only trigger fails', c: { replicas: 5, measurements: [failed('connection refused')], status: ACTIVE }, want: { replicas: 5, ready: 'False/TriggerError', events: ['KEDAScalerFailed'] } },
  { name: 'never scales to zero because the only trigger fails', c: { replicas: 2, measurements: [failed('connection refused')], status: quietSince(-1000) }, want: { replicas: 2, ready: 'False/TriggerError' } },
  { name: 'lets a failing, quiet object go to zero when fallback.replicas is 0 (as KEDA does)', c: { replicas: 2, spec: { fallback: { failureThreshold: 3, replicas: 0 } }, measurements: [failed('connection refused')], status: quietSince(-1000) }, want: { replicas: 0, events: ['KEDAScalerFailed', 'KEDAScaleTargetDeactivated'] } },
]);

table('the replica formula with behavior', [
  { name: 'default policies: scale-up limited by policy Pods/4 per 15s', c: { replicas: 3, behavior: {}, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 7, reason: /scale-up limited by policy Pods\/4 per 15s/ } },
  { name: 'worked example 5: Percent 50 and Pods 2 per 60 s with Max: 10 -> 5', c: { replicas: 10, behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [HALF, TWO] } }, measurements: [metric(1)], status: ACTIVE }, want: { replicas: 5, reason: /Percent\/50 per 60s/ } },
  { name: 'worked example 5: the same with selectPolicy Min: 10 -> 8', c: { replicas: 10, behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Min', policies: [HALF, TWO] } }, measurements: [metric(1)], status: ACTIVE }, want: { replicas: 8, reason: /Pods\/2 per 60s/ } },
  { name: 'scaleDown selectPolicy Disabled keeps the count', c: { replicas: 10, behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } }, measurements: [metric(1)], status: ACTIVE }, want: { replicas: 10, reason: /scale-down disabled \(selectPolicy Disabled\)/ } },
  { name: 'scaleUp selectPolicy Disabled keeps the count', c: { replicas: 3, behavior: { scaleUp: { selectPolicy: 'Disabled' } }, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 3, reason: /scale-up disabled/ } },
  { name: 'paused-scale-in disables the scale-down of the formula and shows Paused', c: { replicas: 5, annotations: PAUSE_IN, measurements: [metric(1)], status: { ...ACTIVE, recommendations: [{ time: iso(-1000), replicas: 1 }] } }, want: { replicas: 5, paused: 'True/ScaledObjectPaused', events: ['ScaledObjectPaused'], reason: /scale-down disabled \(autoscaling.keda.sh\/paused-scale-in\)/ } },
  { name: 'paused-scale-out disables the scale-up of the formula', c: { replicas: 3, annotations: PAUSE_OUT, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 3, reason: /scale-up disabled \(autoscaling.keda.sh\/paused-scale-out\)/ } },
  { name: 'a scaleUp tolerance of 0.02 scales up at 5% over target', c: { replicas: 4, behavior: { scaleUp: { tolerance: '0.02' } }, measurements: [metric(21)], status: ACTIVE }, want: { replicas: 5 } },
  { name: 'a 60 s scaleUp window holds the first scale-up pass', c: { replicas: 2, behavior: { scaleUp: { stabilizationWindowSeconds: 60 } }, measurements: [metric(30)], status: { ...ACTIVE, recommendations: [{ time: iso(-600), replicas: 2 }] } }, want: { replicas: 2, reason: /scale-up stabilized at 2/ } },
]);

table('fallback', [
  { name: 'falls back to 6 replicas on the 4th failure with failureThreshold 3', c: { replicas: 3, spec: { fallback: FB }, measurements: [failed('timeout', { target: 10 })], status: { ...ACTIVE, health: failing(3) } }, want: { replicas: 6, fallback: 'True/FallbackExists', events: ['KEDAScalerFailed', 'ScaledObjectFallbackActivated', 'SuccessfulRescale'], reason: /fallback stands in for s0-metric-api-value/ } },
  { name: 'passes the 3rd failure through as an error and keeps the replicas', c: { replicas: 3, spec: { fallback: FB }, measurements: [failed('timeout', { target: 10 })], status: { ...ACTIVE, health: failing(2) } }, want: { replicas: 3, fallback: 'False/NoFallbackFound', events: ['KEDAScalerFailed'] } },
  { name: 'wakes a target resting at 0 to serve the fallback', c: { replicas: 0, spec: { fallback: FB }, measurements: [failed('timeout', { target: 10 })], status: { ...QUIET, health: failing(3) } }, want: { replicas: 1, events: ['KEDAScalerFailed', 'ScaledObjectFallbackActivated', 'KEDAScaleTargetActivated'] } },
  { name: 'currentReplicasIfHigher keeps 9 replicas over a fallback of 6', c: { replicas: 9, spec: { fallback: { ...FB, behavior: 'currentReplicasIfHigher' } }, measurements: [failed('timeout', { target: 10 })], status: { ...ACTIVE, health: failing(3) } }, want: { replicas: 9 } },
  { name: 'currentReplicasIfLower keeps 4 replicas under a fallback of 6', c: { replicas: 4, spec: { fallback: { ...FB, behavior: 'currentReplicasIfLower' } }, measurements: [failed('timeout', { target: 10 })], status: { ...ACTIVE, health: failing(3) } }, want: { replicas: 4 } },
  { name: 'reaches 6 for a Value target by dividing by the 4 ready pods', c: { replicas: 4, spec: { fallback: FB }, measurements: [failed('timeout', { target: 10, metricType: 'Value' })], status: { ...ACTIVE, health: failing(3) } }, want: { replicas: 6 } },
  { name: 'an external trigger whose metric spec was never learned (target 0) still falls back: 2 -> 5 replicas', c: { replicas: 2, behavior: WIDE_OPEN, spec: { fallback: FB5 }, measurements: [specUnknown], status: { ...ACTIVE, health: failingExternal(3) } }, want: { replicas: 5, fallback: 'True/FallbackExists', events: ['KEDAScalerFailed', 'ScaledObjectFallbackActivated', 'SuccessfulRescale'], reason: /^scaling 2 -> 5: s0-external wants 5: .*fallback stands in for s0-external: fallback replicas 5, its target unknown/ } },
  { name: 'without behavior the HPA\'s scale-up limit applies to a fallback with an unknown target as to any: 2 -> 4', c: { replicas: 2, spec: { fallback: FB5 }, measurements: [specUnknown], status: { ...ACTIVE, health: failingExternal(3) } }, want: { replicas: 4, reason: /scale-up limited to 4/ } },
  { name: 'and on the next pass 4 -> 5, then 5 stays', c: { replicas: 4, spec: { fallback: FB5 }, measurements: [specUnknown], status: { ...settled({ active: true, fallback: true }), health: failingExternal(4) } }, want: { replicas: 5 } },
  { name: 'stays at the fallback count of 5 with an unknown target', c: { replicas: 5, spec: { fallback: FB5 }, measurements: [specUnknown], status: { ...settled({ active: true, fallback: true }), health: failingExternal(5) } }, want: { replicas: 5, events: ['KEDAScalerFailed'] } },
  { name: 'a Value trigger with an unknown target falls back to 5 from 2 ready pods', c: { replicas: 2, behavior: WIDE_OPEN, spec: { fallback: FB5 }, measurements: [{ ...specUnknown, metricType: 'Value' }], status: { ...ACTIVE, health: failingExternal(3) } }, want: { replicas: 5 } },
  { name: 'announces ScaledObjectFallbackDeactivated when the scaler recovers', c: { replicas: 6, spec: { fallback: FB }, measurements: [metric(30, { target: 10 })], status: { ...settled({ active: true, fallback: true }), health: failing(5) } }, want: { fallback: 'False/NoFallbackFound', events: ['ScaledObjectFallbackDeactivated'] } },
]);

table('specs KEDA refuses', [
  { name: "refuses minReplicaCount above maxReplicaCount with KEDA's message and keeps the replicas", c: { replicas: 4, spec: { minReplicaCount: 5, maxReplicaCount: 3 }, status: ACTIVE }, want: { replicas: 4, ready: 'False/ScaledObjectCheckFailed', active: 'Unknown/UnknownState', events: ['ScaledObjectCheckFailed'], reason: /Idle\/Min\/Max Replica Counts specification: MinReplicaCount=5 must be less than MaxReplicaCount=3$/ } },
  { name: 'refuses idleReplicaCount equal to minReplicaCount', c: { replicas: 4, spec: { idleReplicaCount: 2, minReplicaCount: 2 }, status: ACTIVE }, want: { replicas: 4, reason: /IdleReplicaCount=2 must be less than MinReplicaCount=2/ } },
  { name: 'refuses idleReplicaCount 0 with minReplicaCount unset, as KEDA does', c: { replicas: 1, spec: { idleReplicaCount: 0 }, status: ACTIVE }, want: { ready: 'False/ScaledObjectCheckFailed', reason: /IdleReplicaCount=0 must be less than MinReplicaCount=0/ } },
  { name: 'accepts idleReplicaCount 0 with an explicit minReplicaCount 0', c: { replicas: 0, spec: { idleReplicaCount: 0, minReplicaCount: 0 }, measurements: [metric(0)], status: QUIET }, want: { ready: 'True/ScaledObjectReady', replicas: 0 } },
  { name: 'refuses a scalingModifiers formula over triggers that have no names', c: { replicas: 2, spec: { advanced: { scalingModifiers: { formula: 'a + b', target: '2' } } }, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 2, ready: 'False/ScaledObjectCheckFailed', reason: /scalingModifiers specification: error validating formula in ScalingModifiers: advanced\.scalingModifiers\.formula: unknown name a/ } },
  { name: 'refuses a behavior with an empty policy list', c: { replicas: 2, behavior: { scaleUp: { policies: [] } }, measurements: [metric(100)], status: ACTIVE }, want: { replicas: 2, reason: /must specify at least one policy/ } },
  { name: 'announces a check failure only when it first appears', c: { replicas: 4, spec: { minReplicaCount: 5, maxReplicaCount: 3 }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: MinReplicaCount=5 must be less than MaxReplicaCount=3" }] } }, want: { events: [] } },
  { name: 'announces ScaledObjectReady once a refused spec is fixed', c: { replicas: 4, measurements: [metric(20)], status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: 'x' }] } }, want: { ready: 'True/ScaledObjectReady', events: ['ScaledObjectReady'] } },
]);
