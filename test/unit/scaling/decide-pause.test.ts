import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, iso, metric, run, settled } from './fixtures.ts';
import type { Case, Want } from './fixtures.ts';

const ACTIVE = settled({ active: true });
const PAUSED = settled({ active: true, paused: true });
const REPLICAS = (n: string) => ({ 'autoscaling.keda.sh/paused-replicas': n });
const FROZEN = (v: string) => ({ 'autoscaling.keda.sh/paused': v });

describe('pause annotations', () => {
  const rows: Array<{ name: string; c: Case; want: Want }> = [
    { name: 'paused-replicas sets the target to the annotated count', c: { replicas: 5, annotations: REPLICAS('2'), measurements: [metric(100)], status: ACTIVE }, want: { replicas: 2, paused: 'True/ScaledObjectPaused', ready: 'True/ScaledObjectReady', events: ['ScaledObjectPaused'], reason: /paused by autoscaling.keda.sh\/paused-replicas: 5 -> 2/ } },
    { name: 'paused-replicas 0 scales the target to zero', c: { replicas: 5, annotations: REPLICAS('0'), status: ACTIVE }, want: { replicas: 0 } },
    { name: 'paused freezes the replicas whatever the metrics ask', c: { replicas: 3, annotations: FROZEN('true'), measurements: [metric(100)], status: ACTIVE }, want: { replicas: 3, paused: 'True/ScaledObjectPaused', events: ['ScaledObjectPaused'] } },
    { name: 'a paused value ParseBool rejects still pauses', c: { replicas: 3, annotations: FROZEN('yes'), measurements: [metric(100)], status: ACTIVE }, want: { replicas: 3, paused: 'True/ScaledObjectPaused' } },
    { name: 'paused "false" does not pause', c: { replicas: 3, annotations: FROZEN('false'), measurements: [metric(100)], status: ACTIVE }, want: { replicas: 6, paused: 'False/' } },
    { name: 'paused-replicas wins over paused', c: { replicas: 3, annotations: { ...FROZEN('true'), ...REPLICAS('1') }, status: ACTIVE }, want: { replicas: 1 } },
    { name: 'announces a pause only on the transition', c: { replicas: 3, annotations: FROZEN('true'), status: PAUSED }, want: { replicas: 3, events: [] } },
    { name: 'unpausing announces ScaledObjectUnpaused and scales again', c: { replicas: 3, measurements: [metric(100)], status: PAUSED }, want: { replicas: 6, paused: 'False/ScaledObjectUnpaused', events: ['ScaledObjectUnpaused', 'SuccessfulRescale'] } },
    { name: 'a non-integer paused-replicas stops scaling with Ready False', c: { replicas: 3, annotations: REPLICAS('two'), measurements: [metric(100)], status: ACTIVE }, want: { replicas: 3, ready: 'False/ScaledObjectCheckFailed', paused: 'True/ScaledObjectPaused', reason: /"two"/ } },
    { name: 'removing paused-scale-in unpauses', c: { replicas: 3, measurements: [metric(15)], status: PAUSED }, want: { replicas: 3, paused: 'False/ScaledObjectUnpaused', events: ['ScaledObjectUnpaused'] } },
  ];
  for (const r of rows) it(r.name, () => check(run(r.c), r.want));

  it('records pausedReplicaCount and says so in Ready', () => {
    const d = run({ replicas: 5, annotations: REPLICAS('2'), status: ACTIVE });
    assert.equal(d.status.pausedReplicaCount, 2);
    assert.equal(d.status.conditions?.find((c) => c.type === 'Ready')?.message, 'ScaledObject is paused');
    assert.equal(d.paused, true);
  });
  it('clears pausedReplicaCount once the annotation is gone', () => {
    const d = run({ replicas: 2, measurements: [metric(10)], status: { ...PAUSED, pausedReplicaCount: 2 } });
    assert.equal(d.status.pausedReplicaCount, undefined);
  });
  it('forgets the formula history while paused, since no formula runs', () => {
    const status = { ...ACTIVE, recommendations: [{ time: iso(-100), replicas: 4 }], scaleEvents: [{ time: iso(-5), change: 2 }] };
    const d = run({ replicas: 4, annotations: FROZEN('true'), status });
    assert.equal(d.status.recommendations, undefined);
    assert.equal(d.status.scaleEvents, undefined);
  });
  it('keeps the last activity and health while paused: the loop does not run', () => {
    // the active pass before the pause (60 s ago) was KEDA's last stamp; paused passes stamp nothing
    const status = { ...ACTIVE, lastActiveTime: iso(-100), triggersActivity: { 's0-metric-api-value': { isActive: true } } };
    const d = run({ replicas: 4, annotations: FROZEN('true'), measurements: [metric(0)], status, previous: -60 });
    assert.equal(d.status.lastActiveTime, iso(-60));
    assert.deepEqual(d.status.triggersActivity, status.triggersActivity);
    assert.deepEqual(d.metricValues, {});
    const again = run({ replicas: 4, annotations: FROZEN('true'), measurements: [metric(0)], status: d.status, previous: 0, now: 60 });
    assert.equal(again.status.lastActiveTime, iso(-60));
    assert.deepEqual(again.status, d.status);
  });
});
