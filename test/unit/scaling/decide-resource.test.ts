// cpu/memory triggers through the whole decision: KEDA's activity rules for them, the HPA's max over
// metrics, holds, stabilization and policies exactly as for external metrics, and KEDA's validation.
// Pods request 1 cpu each and are Ready long enough for no readiness rule to apply (those are in
// resource-metrics.test.ts); the queue trigger is metrics-api with target 5.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { at, check, table, condition, iso, metric, passes, run, settled } from './fixtures.ts';
import type { Case, Want } from './fixtures.ts';
import type { PodTemplateResources, TriggerMeasurement, TriggerSpec } from '../../../src/scaling/types.ts';
import type { ResourcePod } from '../../../src/scaling/resource-metrics.ts';

const ACTIVE = settled({ active: true });
const QUIET = settled({ active: false });

/** a cpu Utilization trigger over one pod per usage, each using that many millicores of 1 cpu */
function cpu(usage: number[], o: { index?: number; target?: number; error?: string } = {}): TriggerMeasurement {
  const index = o.index ?? 0;
  const base = { index, type: 'cpu', metricName: 'cpu', metricType: 'Utilization' as const, target: o.target ?? 50, activationTarget: 0 };
  if (o.error) return { ...base, error: o.error };
  const pods: ResourcePod[] = usage.map((_, i) => ({
    name: `p${i}`, phase: 'Running', deleted: false, ready: { status: 'True', lastTransitionTime: at(-3000) }, startTime: at(-3600),
    containers: [{ name: 'app', requests: { cpu: 1000n } }], initContainers: [],
  }));
  return {
    ...base, active: true,
    resource: {
      resource: 'cpu', target: { type: 'Utilization', averageUtilization: o.target ?? 50 }, pods,
      podMetrics: usage.map((u, i) => ({ name: `p${i}`, timestamp: at(-10), windowMs: 30_000, containers: [{ name: 'app', usage: { cpu: BigInt(u) } }] })),
    },
  };
}

function cpuUnreadable(error: string, index = 0): TriggerMeasurement {
  const m = cpu([], { index });
  return { ...m, resource: { ...m.resource!, podMetrics: { error } } };
}

const queue = (value: number, index = 1) => metric(value, { index, name: `s${index}-metric-api-value` });
const triggers = (...types: string[]): TriggerSpec[] => types.map((type) => ({ type, metadata: {}, ...(type === 'cpu' ? { metricType: 'Utilization' as const } : {}) }));

table('activity: cpu/memory never activate, except when every trigger is cpu/memory', [
  { name: 'an object with only a cpu trigger is active and scales 3 -> 6 at 90% of a 50% target (ceil(1.8 x 3) = 6, scale-up limit 6)',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([900, 900, 900])], status: ACTIVE },
    want: { replicas: 6, active: 'True/ScalerActive', ready: 'True/ScaledObjectReady', events: ['SuccessfulRescale'], reason: /cpu wants 6: cpu 90% of requests, target 50%: ceil\(1\.8 x 3 ready\) = 6/ },
    also: (d) => assert.equal(d.events[0]!.message, 'New size: 6; reason: cpu resource utilization (percentage of request) above target') },
  { name: 'cpu alongside an inactive queue trigger does not wake a target at 0', c: { replicas: 0, spec: { triggers: triggers('cpu', 'metrics-api') }, measurements: [cpu([900]), queue(0)], status: QUIET },
    want: { replicas: 0, active: 'False/ScalerNotActive', events: [] } },
  { name: 'with minReplicaCount 0, cpu at 90% does not keep the target up once the queue trigger is inactive past cooldown: 3 -> 0',
    c: { replicas: 3, spec: { cooldownPeriod: 300, triggers: triggers('cpu', 'metrics-api') }, measurements: [cpu([900, 900, 900]), queue(0)], status: { ...QUIET, lastActiveTime: iso(-301) } },
    want: { replicas: 0, events: ['KEDAScaleTargetDeactivated'] } },
  { name: 'with minReplicaCount 0 and the queue trigger active, cpu decides the count: 3 -> 6',
    c: { replicas: 3, spec: { triggers: triggers('cpu', 'metrics-api') }, measurements: [cpu([900, 900, 900]), queue(1)], status: ACTIVE },
    want: { replicas: 6, active: 'True/ScalerActive' } },
  { name: 'a cpu trigger whose configuration is refused fails like a scaler that cannot be built: not active, no scale-in, KEDAScalerFailed',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([], { error: "error parsing cpu metadata: unknown metric type: , allowed values are 'Utilization' or 'AverageValue'" })], status: ACTIVE },
    want: { replicas: 3, active: 'False/ScalerNotActive', ready: 'False/TriggerError', events: ['KEDAScalerFailed'] } },
]);

table('the replica formula: max over metrics, failures, stabilization', [
  { name: 'takes the larger proposal: cpu asks ceil(1.2 x 3) = 4, the queue ceil(35 / 5) = 7, and the scale-up limit of 6 applies',
    c: { replicas: 3, spec: { triggers: triggers('cpu', 'metrics-api') }, measurements: [cpu([600, 600, 600]), queue(35)], status: ACTIVE },
    want: { replicas: 6, reason: /^scaling 3 -> 6: s1-metric-api-value wants 7/ } },
  { name: 'metrics.k8s.io unavailable holds a scale-down the queue asks for (4 stays), without KEDAScalerFailed and with Ready True',
    c: { replicas: 4, spec: { triggers: triggers('cpu', 'metrics-api') }, measurements: [cpuUnreadable('GET /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods: 404 NotFound'), queue(5)], status: ACTIVE },
    want: { replicas: 4, events: [], ready: 'True/ScaledObjectReady', active: 'True/ScalerActive',
      reason: /keeping 4: s1-metric-api-value wants 1, but a failed metric never lets the target shrink \(cpu: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: GET .*404 NotFound\)/ } },
  { name: 'metrics.k8s.io unavailable does not stop a scale-up the queue asks for: 2 -> 4',
    c: { replicas: 2, spec: { triggers: triggers('cpu', 'metrics-api') }, measurements: [cpuUnreadable('503 ServiceUnavailable'), queue(20)], status: ACTIVE },
    want: { replicas: 4 } },
  { name: 'an object with only cpu keeps its count while metrics cannot be read, and stays active (no KEDA trigger error)',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpuUnreadable('404 NotFound')], status: ACTIVE },
    want: { replicas: 3, events: [], active: 'True/ScalerActive', ready: 'True/ScaledObjectReady', reason: /^keeping 3: every metric failed/ } },
  { name: 'a scale-down follows a behavior policy: 4 pods at 20% ask for 2, Pods 1 per 60 s allows 3',
    c: { replicas: 4, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([200, 200, 200, 200])], status: ACTIVE,
      behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } },
    want: { replicas: 3 } },
]);

describe('stabilization holds a cpu scale-down as it holds any metric', () => {
  it('4 pods at 20% ask for 2: held at 4 for the 300 s window, then 2', () => {
    const first: Case = { replicas: 4, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([200, 200, 200, 200])], status: ACTIVE };
    const [d0, d1, d2] = passes(first, [{ now: 0 }, { now: 240 }, { now: 301 }]);
    check(d0!, { replicas: 4, reason: /cpu wants 2/ });
    check(d1!, { replicas: 4 });
    check(d2!, { replicas: 2, events: ['SuccessfulRescale'] });
    assert.equal(d2!.events[0]!.message, 'New size: 2; reason: All metrics below target');
  });
});

describe('status for cpu/memory triggers', () => {
  it('lists cpu under resourceMetricNames only, keeps it out of triggersActivity and of fallback health', () => {
    const d = run({ replicas: 2, spec: { triggers: triggers('cpu', 'metrics-api'), fallback: { failureThreshold: 3, replicas: 5 } }, measurements: [cpu([500, 500]), queue(10)], status: ACTIVE });
    assert.deepEqual(d.status.resourceMetricNames, ['cpu']);
    assert.deepEqual(d.status.externalMetricNames, ['s1-metric-api-value']);
    assert.deepEqual(Object.keys(d.status.triggersActivity ?? {}), ['s1-metric-api-value']);
    assert.deepEqual(Object.keys(d.status.health ?? {}), ['s1-metric-api-value']);
    assert.equal(d.metricValues.cpu, undefined);
  });
});

const template = (containers: PodTemplateResources['containers'], namespaceDefaults = { cpu: false, memory: false }): PodTemplateResources => ({ containers, namespaceDefaults });
const BOTH = { name: 'app', cpu: true, memory: true };
const NO_CPU = { name: 'proxy', cpu: false, memory: true };
const refused = (message: string): Want => ({ replicas: 3, ready: 'False/ScaledObjectCheckFailed', events: ['ScaledObjectCheckFailed'], reason: new RegExp(`^not scaling: ${message.replace(/[()]/g, '\\$&')}$`) });

table("KEDA's validation of cpu/memory triggers (its webhook's words, as Ready=False)", [
  { name: 'refuses a Deployment whose container has no cpu request or limit',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([500])], status: ACTIVE, target: { podTemplate: template([BOTH, NO_CPU]) } },
    want: refused("the scaledobject has a cpu trigger but the container proxy doesn't have the cpu request defined"),
    also: (d) => assert.equal(condition(d, 'Ready')?.message, "the scaledobject has a cpu trigger but the container proxy doesn't have the cpu request defined") },
  { name: 'accepts it when a LimitRange gives containers a default cpu request',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: triggers('cpu') }, measurements: [cpu([500, 500, 500])], status: ACTIVE, target: { podTemplate: template([BOTH, NO_CPU], { cpu: true, memory: false }) } },
    want: { replicas: 3, ready: 'True/ScaledObjectReady' } },
  { name: 'with containerName only that container must declare it',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '50', containerName: 'app' } }] }, measurements: [cpu([500, 500, 500])], status: ACTIVE, target: { podTemplate: template([BOTH, NO_CPU]) } },
    want: { replicas: 3, ready: 'True/ScaledObjectReady' } },
  { name: 'refuses a memory trigger whose named container lacks the memory request',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: [{ type: 'memory', metricType: 'AverageValue', metadata: { value: '1Gi', containerName: 'app' } }] }, measurements: [{ ...cpu([500]), type: 'memory', metricName: 'memory' }], status: ACTIVE, target: { podTemplate: template([{ name: 'app', cpu: true, memory: false }]) } },
    want: refused("the scaledobject has a memory trigger but the container app doesn't have the memory request defined") },
  { name: 'refuses only cpu/memory triggers without minReplicaCount',
    c: { replicas: 3, spec: { triggers: triggers('cpu') }, measurements: [cpu([500])], status: ACTIVE, target: { podTemplate: template([BOTH]) } },
    want: refused("scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)") },
  { name: 'refuses only cpu/memory triggers with minReplicaCount 0',
    c: { replicas: 3, spec: { minReplicaCount: 0, triggers: triggers('cpu', 'memory') }, measurements: [cpu([500]), { ...cpu([500], { index: 1 }), type: 'memory', metricName: 'memory' }], status: ACTIVE, target: { podTemplate: template([BOTH]) } },
    want: refused("scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)") },
  { name: 'accepts minReplicaCount 0 when another trigger can take the target to zero',
    c: { replicas: 3, spec: { minReplicaCount: 0, triggers: triggers('cpu', 'metrics-api') }, measurements: [cpu([500, 500, 500]), queue(1)], status: ACTIVE, target: { podTemplate: template([BOTH]) } },
    want: { replicas: 3, ready: 'True/ScaledObjectReady' } },
  { name: 'checks nothing for a target that is not a Deployment or StatefulSet, as KEDA (only cpu, minReplicaCount unset: active, stays)',
    c: { replicas: 3, spec: { triggers: triggers('cpu') }, measurements: [cpu([500, 500, 500])], status: ACTIVE, target: { kind: 'example.com/v1.Worker' } },
    want: { replicas: 3, ready: 'True/ScaledObjectReady', active: 'True/ScalerActive' } },
  { name: 'refuses a fallback when every trigger is cpu/memory (nothing a fallback value could stand in for)',
    c: { replicas: 3, spec: { minReplicaCount: 1, fallback: { failureThreshold: 3, replicas: 5 }, triggers: triggers('cpu') }, measurements: [cpu([500])], status: ACTIVE, target: { podTemplate: template([BOTH]) } },
    want: refused('at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled') },
  { name: 'refuses useCachedMetrics on a cpu trigger',
    c: { replicas: 3, spec: { minReplicaCount: 1, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '50' }, useCachedMetrics: true }] }, measurements: [cpu([500])], status: ACTIVE, target: { podTemplate: template([BOTH]) } },
    want: refused('ScaledObject doesn\'t have correct triggers specification: property "useCachedMetrics" is not supported for "cpu" scaler') },
]);
