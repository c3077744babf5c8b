// advanced.scalingModifiers in the decision: the HPA sees one composite-metric (the formula's value,
// scalingModifiers.target), activity is composite > activationTarget, fallback is expressed against
// the composite target, and a formula that gives no number keeps the replicas with Ready=False.
// Expected counts worked out by hand from KEDA pkg/scaling/modifiers, pkg/fallback and the HPA rules.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { table, failed, iso, metric, run, settled } from './fixtures.ts';
import type { HPABehavior, ScaledObjectSpec, TriggerMeasurement } from '../../../src/scaling/types.ts';

const ACTIVE = settled({ active: true });
const QUIET = settled({ active: false });
const quietSince = (s: number) => ({ ...QUIET, lastActiveTime: iso(s) });
const WIDE_OPEN: HPABehavior = { scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 15 }] } };

const TRIGGERS = [
  { type: 'redis', name: 'queue', metadata: {} },
  { type: 'postgresql', name: 'db', metadata: {} },
];
const queue = (v: number): TriggerMeasurement => ({ ...metric(v, { index: 0, type: 'redis', name: 's0-redis-orders', target: 0 }), name: 'queue' });
const db = (v: number): TriggerMeasurement => ({ ...metric(v, { index: 1, type: 'postgresql', name: 's1-postgresql', target: 0 }), name: 'db' });
const queueDown = (): TriggerMeasurement => ({ ...failed('dial tcp 127.0.0.1:6379: connection refused', { index: 0, type: 'redis', name: 's0-redis-orders', target: 0 }), name: 'queue' });
const dbDown = (): TriggerMeasurement => ({ ...failed('connection refused', { index: 1, type: 'postgresql', name: 's1-postgresql', target: 0 }), name: 'db' });

function so(scalingModifiers: Record<string, string>, more: Partial<ScaledObjectSpec> = {}): Partial<ScaledObjectSpec> {
  return { triggers: TRIGGERS, advanced: { scalingModifiers }, ...more };
}
const SUM = so({ formula: 'queue + db', target: '5' });
const FB = { failureThreshold: 3, replicas: 6 };
const queueFailing = (n: number) => ({ 's0-redis-orders': { numberOfFailures: n, status: 'Failing' as const } });

table('the composite metric decides', [
  { name: '13 queued + 10 rows, target 5: 2 pods -> ceil(23 / 5) = 5, limited to 4', c: { replicas: 2, spec: SUM, measurements: [queue(13), db(10)], status: ACTIVE }, want: { replicas: 4, reason: /composite-metric wants 5: ceil\(23 \/ 5\) = 5.*composite-metric = 23 from queue \+ db/, events: ['SuccessfulRescale'] } },
  { name: 'and the next pass 4 -> 5', c: { replicas: 4, spec: SUM, measurements: [queue(13), db(10)], status: ACTIVE }, want: { replicas: 5 } },
  { name: "KEDA's average example: (queue + db) / 2 = 21 over target 7 -> 3", c: { replicas: 3, spec: so({ formula: '(queue + db) / 2', target: '7' }), measurements: [queue(30), db(12)], status: ACTIVE }, want: { replicas: 3, reason: /within tolerance/ } },
  { name: 'a ternary picks the branch: queue > 20 ? queue : db -> 30 / 5 = 6', c: { replicas: 2, behavior: WIDE_OPEN, spec: so({ formula: 'queue > 20 ? queue : db', target: '5' }), measurements: [queue(30), db(12)], status: ACTIVE }, want: { replicas: 6 } },
  { name: 'max(queue, db) = 40 over target 10 -> 4', c: { replicas: 1, behavior: WIDE_OPEN, spec: so({ formula: 'max(queue, db)', target: '10' }), measurements: [queue(40), db(12)], status: ACTIVE }, want: { replicas: 4 } },
  { name: 'metricType Value: 30 / target 10 x 2 ready pods -> 6', c: { replicas: 2, behavior: WIDE_OPEN, spec: so({ formula: 'queue', target: '10', metricType: 'Value' }), measurements: [queue(30), db(0)], status: ACTIVE }, want: { replicas: 6, reason: /ceil\(30 \/ 10 x 2 ready\) = 6/ } },
  { name: 'the triggers need no target of their own: their targets (0) are not used', c: { replicas: 1, behavior: WIDE_OPEN, spec: SUM, measurements: [queue(5), db(5)], status: ACTIVE }, want: { replicas: 2 } },
]);

table('activation is composite-metric > activationTarget', [
  { name: 'wakes 0 -> 1 when the composite is above 0', c: { replicas: 0, spec: SUM, measurements: [queue(3), db(0)], status: QUIET }, want: { replicas: 1, reason: /^activated 0 -> 1: composite-metric active/, events: ['KEDAScaleTargetActivated'], active: 'True/ScalerActive' } },
  { name: 'stays at 0 at 23 with activationTarget 30, though both triggers are active on their own', c: { replicas: 0, spec: so({ formula: 'queue + db', target: '5', activationTarget: '30' }), measurements: [queue(13), db(10)], status: QUIET }, want: { replicas: 0, active: 'False/ScalerNotActive', events: [] } },
  { name: 'stays at 0 when queue - db is 0 (exactly the activationTarget)', c: { replicas: 0, spec: so({ formula: 'queue - db', target: '5' }), measurements: [queue(10), db(10)], status: QUIET }, want: { replicas: 0 } },
  { name: 'scales to 0 after the cooldown once the composite is at or below the activationTarget', c: { replicas: 3, spec: so({ formula: 'queue + db', target: '5', activationTarget: '30' }), measurements: [queue(13), db(10)], status: quietSince(-301) }, want: { replicas: 0, events: ['KEDAScaleTargetDeactivated'] } },
]);

table('a formula that gives no number keeps the replicas, Ready=False', [
  { name: 'int(queue) % int(db) with db 0: integer divide by zero, 3 stays', c: { replicas: 3, spec: so({ formula: 'int(queue) % int(db)', target: '5' }), measurements: [queue(7), db(0)], status: ACTIVE }, want: { replicas: 3, ready: 'False/ScalingModifiersFormulaFailed', active: 'Unknown/UnknownState', events: ['ScalingModifiersFormulaFailed'], reason: /^not scaling, keeping 3: advanced\.scalingModifiers\.formula: integer divide by zero$/ } },
  { name: 'queue / db with db 0 is +Inf: not scaled on, and not to 0 after the cooldown either', c: { replicas: 3, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(7), db(0)], status: quietSince(-1000) }, want: { replicas: 3, ready: 'False/ScalingModifiersFormulaFailed', reason: /the formula's value is Infinity, not a number to scale on \(a division by zero\?\)/ } },
  { name: 'a boolean result from a branch the webhook check did not take', c: { replicas: 2, spec: so({ formula: 'queue > 0 ? queue > 5 : 1', target: '5' }), measurements: [queue(7), db(0)], status: ACTIVE }, want: { replicas: 2, ready: 'False/ScalingModifiersFormulaFailed', reason: /must return a number, it returned a bool/ } },
  { name: 'at 0 it stays at 0', c: { replicas: 0, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(7), db(0)], status: QUIET }, want: { replicas: 0, ready: 'False/ScalingModifiersFormulaFailed' } },
  { name: 'the same failure again is not announced again', c: { replicas: 3, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(7), db(0)], status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ScalingModifiersFormulaFailed', message: "advanced.scalingModifiers.formula: the formula's value is Infinity, not a number to scale on (a division by zero?)" }] } }, want: { replicas: 3, events: [] } },
  { name: 'a formula that works again makes the object Ready and scales', c: { replicas: 3, behavior: WIDE_OPEN, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(70), db(2)], status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ScalingModifiersFormulaFailed', message: 'x' }] } }, want: { replicas: 7, ready: 'True/ScaledObjectReady' } },
]);

table('a failing trigger', [
  { name: 'without fallback: no composite, Ready=False/TriggerError, no scale-in after the cooldown', c: { replicas: 3, spec: SUM, measurements: [queueDown(), db(10)], status: quietSince(-1000) }, want: { replicas: 3, ready: 'False/TriggerError', active: 'False/ScalerNotActive', events: ['KEDAMetricSourceFailed'] } },
  { name: 'while active: the object turns inactive (KEDA resets activity on an error) and keeps its replicas', c: { replicas: 3, spec: SUM, measurements: [queue(30), dbDown()], status: ACTIVE }, want: { replicas: 3, ready: 'False/TriggerError', events: ['KEDAMetricSourceFailed'] } },
  { name: 'fallback static: the 4th failure gives composite 6 x 5 = 30 -> 6 replicas', c: { replicas: 4, spec: { ...SUM, fallback: FB }, measurements: [queueDown(), db(10)], status: { ...ACTIVE, health: queueFailing(3) } }, want: { replicas: 6, fallback: 'True/FallbackExists', events: ['KEDAMetricSourceFailed', 'ScaledObjectFallbackActivated', 'SuccessfulRescale'], reason: /composite-metric = 30: fallback for s0-redis-orders/ } },
  { name: 'fallback within failureThreshold: an error, and no scale-in while a fallback is configured', c: { replicas: 4, spec: { ...SUM, fallback: FB }, measurements: [queueDown(), db(0)], status: { ...quietSince(-1000), health: queueFailing(1) } }, want: { replicas: 4, fallback: 'False/NoFallbackFound', reason: /waiting for fallback, no scale-in/ } },
  { name: "fallback with a target that is not an integer ('2.5') is off, as KEDA's HasValidFallback has it", c: { replicas: 4, spec: { ...so({ formula: 'queue + db', target: '2.5' }), fallback: FB }, measurements: [queueDown(), db(10)], status: { ...ACTIVE, health: queueFailing(9) } }, want: { replicas: 4, fallback: 'False/NoFallbackFound', reason: /every metric failed \(composite-metric: metric source failed: s0-redis-orders\).*waiting for fallback, no scale-in/ } },
  { name: 'fallback.behavior scalingModifiers: queue past the threshold is nil, queue ?? db = 10 -> 2', c: { replicas: 1, spec: { ...so({ formula: 'queue ?? db', target: '5' }), fallback: { ...FB, behavior: 'scalingModifiers' } }, measurements: [queueDown(), db(10)], status: { ...ACTIVE, health: queueFailing(3) } }, want: { replicas: 2, fallback: 'True/FallbackExists', ready: 'True/ScaledObjectReady', reason: /composite-metric = 10 from queue \?\? db/ } },
  { name: 'fallback.behavior scalingModifiers: queue ?? db ?? 8 with both past the threshold is 8 -> 2', c: { replicas: 1, spec: { ...so({ formula: 'queue ?? db ?? 8', target: '5' }), fallback: { ...FB, behavior: 'scalingModifiers' } }, measurements: [queueDown(), dbDown()], status: { ...ACTIVE, health: { ...queueFailing(3), 's1-postgresql': { numberOfFailures: 7, status: 'Failing' } } } }, want: { replicas: 2 } },
  { name: 'fallback.behavior scalingModifiers: a formula that ends in nil gets fallback.replicas 6 x target 5 -> 6', c: { replicas: 4, spec: { ...so({ formula: 'queue ?? db', target: '5' }), fallback: { ...FB, behavior: 'scalingModifiers' } }, measurements: [queueDown(), dbDown()], status: { ...ACTIVE, health: { ...queueFailing(3), 's1-postgresql': { numberOfFailures: 7, status: 'Failing' } } } }, want: { replicas: 6, reason: /the formula gave nil: fallback\.replicas 6 x target 5/ } },
  { name: 'fallback.behavior scalingModifiers: nil in arithmetic is a formula error, replicas stay', c: { replicas: 4, spec: { ...so({ formula: 'queue + db', target: '5' }), fallback: { ...FB, behavior: 'scalingModifiers' } }, measurements: [queueDown(), db(10)], status: { ...ACTIVE, health: queueFailing(3) } }, want: { replicas: 4, ready: 'False/ScalingModifiersFormulaFailed', reason: /invalid operation: nil \+ float/ } },
]);

table('specs KEDA refuses', [
  { name: 'a formula without a target', c: { replicas: 2, spec: so({ formula: 'queue + db' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, ready: 'False/ScaledObjectCheckFailed', reason: /scalingModifiers specification: error validating formula in ScalingModifiers: formula is given but target is empty/ } },
  { name: 'a target without a formula', c: { replicas: 2, spec: so({ target: '5' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /error ScalingModifiers\.Formula is mandatory/ } },
  { name: 'a formula naming a trigger that has no name', c: { replicas: 2, spec: { triggers: [{ type: 'redis', name: 'queue', metadata: {} }, { type: 'postgresql', metadata: {} }], advanced: { scalingModifiers: { formula: 'queue + db', target: '5' } } }, measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /unknown name db: a formula can use the names of the ScaledObject's triggers that are not cpu or memory \(here: queue\)/ } },
  { name: 'a formula naming a cpu trigger', c: { replicas: 2, spec: { triggers: [...TRIGGERS, { type: 'cpu', name: 'load', metadata: {} }], advanced: { scalingModifiers: { formula: 'queue + load', target: '5' } } }, measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /unknown name load/ } },
  { name: 'a syntax error', c: { replicas: 2, spec: so({ formula: 'queue +', target: '5' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /advanced\.scalingModifiers\.formula: syntax error/ } },
  { name: 'target 0', c: { replicas: 2, spec: so({ formula: 'queue', target: '0' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /error validating target in ScalingModifiers: advanced\.scalingModifiers\.target "0" must be a number above 0/ } },
  { name: 'metricType Utilization', c: { replicas: 2, spec: so({ formula: 'queue', target: '5', metricType: 'Utilization' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /error trigger type is Utilization, but it needs to be AverageValue or Value for external metrics/ } },
  { name: 'an activationTarget that is not a number', c: { replicas: 2, spec: so({ formula: 'queue', target: '5', activationTarget: 'ten' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /scalingModifiers\.ActivationTarget parsing error/ } },
  { name: 'fallback.behavior scalingModifiers without a formula', c: { replicas: 2, spec: { triggers: TRIGGERS, fallback: { ...FB, behavior: 'scalingModifiers' } }, measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, ready: 'False/ScaledObjectCheckFailed', reason: /scalingModifiers fallback behavior requires scalingModifiers\.formula to be defined/ } },
  { name: 'a formula whose run with every trigger at -1 fails', c: { replicas: 2, spec: so({ formula: 'int(queue) % int(db + 1)', target: '5' }), measurements: [queue(1), db(1)], status: ACTIVE }, want: { replicas: 2, reason: /integer divide by zero/ } },
]);

describe('status with scalingModifiers', () => {
  it('writes compositeScalerName and, as KEDA, every triggersActivity entry false', () => {
    const d = run({ replicas: 2, spec: SUM, measurements: [queue(13), db(10)], status: ACTIVE });
    assert.equal(d.status.compositeScalerName, 'composite-metric');
    assert.deepEqual(d.status.triggersActivity, { 's0-redis-orders': { isActive: false }, 's1-postgresql': { isActive: false } });
    assert.deepEqual(d.status.externalMetricNames, ['s0-redis-orders', 's1-postgresql']);
    assert.deepEqual(d.composite, { value: 23, active: true, target: 5 });
  });
  it('an empty scalingModifiers block is not used (KEDA compares it to the zero value)', () => {
    const d = run({ replicas: 2, spec: { triggers: TRIGGERS, advanced: { scalingModifiers: {} } }, measurements: [queue(13), db(10)], status: ACTIVE });
    assert.equal(d.status.compositeScalerName, undefined);
    assert.equal(d.composite, undefined);
  });
  it('cooldown after a formula failure counts from the pass before it, when the object was active', () => {
    // the previous evaluation as the Lease's pass history gives it
    const d = run({ replicas: 3, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(7), db(0)], status: ACTIVE, now: 100, previous: 70 });
    assert.equal(d.status.lastActiveTime, iso(70));
    // without a record of earlier passes: this pass's own time, so cooldown never ends earlier than KEDA's
    const unknown = run({ replicas: 3, spec: so({ formula: 'queue / db', target: '5' }), measurements: [queue(7), db(0)], status: ACTIVE, now: 100 });
    assert.equal(unknown.status.lastActiveTime, iso(100));
  });
});
