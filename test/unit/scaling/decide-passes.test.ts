import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../../src/scaling/decide.ts';
import { failed, input, iso, metric, passes, run, settled } from './fixtures.ts';

const ACTIVE = settled({ active: true });

describe('consecutive passes, each fed the status of the one before', () => {
  it('holds 8 without behavior until the last 8 is 300 s old, then drops to 3 (worked example 3)', () => {
    const r = passes({ replicas: 8, status: ACTIVE, measurements: [metric(40)] }, [
      { now: 0 },
      { now: 60, measurements: [metric(15)] },
      { now: 300, measurements: [metric(15)] },
      { now: 360, measurements: [metric(15)] },
    ]);
    assert.deepEqual(r.map((d) => d.replicas), [8, 8, 8, 3]);
    assert.deepEqual(r[3]?.status.recommendations, [{ time: iso(60), replicas: 3 }]);
  });

  it('adds one pod per 120 s under a Pods 1 per 120s policy', () => {
    const r = passes(
      { replicas: 1, status: ACTIVE, measurements: [metric(50)], behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } } },
      [{ now: 0 }, { now: 60 }, { now: 121 }],
    );
    assert.deepEqual(r.map((d) => d.replicas), [2, 2, 3]);
    assert.deepEqual(r[1]?.status.scaleEvents, [{ time: iso(0), change: 1 }]);
  });

  it('activates 0 -> 1, then the formula doubles its way to the 8 the queue needs', () => {
    const r = passes({ replicas: 0, status: settled({ active: false }), measurements: [metric(40)] }, [
      { now: 0 },
      { now: 60 },
      { now: 120 },
      { now: 180 },
    ]);
    assert.deepEqual(r.map((d) => d.replicas), [1, 4, 8, 8]);
  });

  it('cools down for 300 s after the last active pass, then deactivates to 0 on the first pass after that', () => {
    // last active evaluation at 0: at 300, 0 + 300 < 300 is false; at 301 it holds (KEDA's test)
    const r = passes({ replicas: 2, status: ACTIVE, measurements: [metric(10)] }, [
      { now: 0 },
      { now: 60, measurements: [metric(0)] },
      { now: 300, measurements: [metric(0)] },
      { now: 301, measurements: [metric(0)] },
    ]);
    assert.deepEqual(r.map((d) => d.replicas), [2, 2, 2, 0]);
    assert.deepEqual(r.map((d) => d.status.conditions?.find((c) => c.type === 'Active')?.reason), [
      'ScalerActive',
      'ScalerCooldown',
      'ScalerCooldown',
      'ScalerNotActive',
    ]);
    assert.equal(r[3]?.status.recommendations, undefined, 'the formula history ends at rest');
  });

  it('writes lastActiveTime when activity ends, as the time of the last active pass, not on every active pass', () => {
    const r = passes({ replicas: 2, status: { ...ACTIVE, lastActiveTime: iso(-900) }, measurements: [metric(10)] }, [
      { now: 0 },
      { now: 60 },
      { now: 120, measurements: [metric(0)] },
      { now: 180, measurements: [metric(0)] },
    ]);
    assert.deepEqual(r.map((d) => d.status.lastActiveTime), [iso(-900), iso(-900), iso(60), iso(60)]);
    assert.deepEqual(r[3]?.status, r[2]?.status, 'the second quiet pass writes nothing');
  });

  it('a pass that activates stamps its own time; the stretch it starts ends with the last active pass', () => {
    const r = passes({ replicas: 0, status: settled({ active: false }), measurements: [metric(3)] }, [
      { now: 0 },
      { now: 60 },
      { now: 120 },
      { now: 180, measurements: [metric(0)] },
    ]);
    assert.deepEqual(r.map((d) => d.status.lastActiveTime), [iso(0), iso(0), iso(0), iso(120)]);
    assert.deepEqual(r[2]?.status, r[1]?.status, 'an active pass that changes nothing writes nothing');
  });

  it('a failed trigger on an active pass ends the stamping (KEDA skips it), and a clean pass restarts it', () => {
    const r = passes({ replicas: 3, status: { ...ACTIVE, lastActiveTime: iso(-900) }, measurements: [metric(15)] }, [
      { now: 0 },
      { now: 60, measurements: [metric(15), failed('timeout', { index: 1 })] },
      { now: 120, measurements: [metric(15), failed('timeout', { index: 1 })] },
      { now: 180, measurements: [metric(15), metric(1, { index: 1 })] },
    ]);
    assert.deepEqual(r.map((d) => d.status.lastActiveTime), [iso(-900), iso(0), iso(0), iso(180)]);
  });

  it('falls back after the threshold and counts every failed pass', () => {
    const r = passes(
      { replicas: 3, status: ACTIVE, spec: { fallback: { failureThreshold: 2, replicas: 6 } }, measurements: [failed('timeout', { target: 10 })] },
      [{ now: 0 }, { now: 60 }, { now: 120 }],
    );
    assert.deepEqual(r.map((d) => d.replicas), [3, 3, 6]);
    assert.deepEqual(r.map((d) => d.status.health?.['s0-metric-api-value']?.numberOfFailures), [1, 2, 3]);
  });
});

describe('a quiet pass writes nothing: the status comes back identical', () => {
  it('for an active target the metrics keep where it is', () => {
    const r = passes({ replicas: 3, status: ACTIVE, measurements: [metric(15)] }, [{ now: 0 }, { now: 60 }, { now: 600 }]);
    assert.deepEqual(r[1]?.status, r[0]?.status);
    assert.deepEqual(r[2]?.status, r[0]?.status);
    assert.deepEqual(r[2]?.events, []);
  });
  it('for a target resting at 0', () => {
    const r = passes({ replicas: 0, status: settled({ active: false }), measurements: [metric(0)] }, [{ now: 0 }, { now: 60 }]);
    assert.deepEqual(r[1]?.status, r[0]?.status);
    assert.equal(r[1]?.replicas, 0);
  });
  it('for a target held by downscale stabilization, until the window ends', () => {
    const r = passes({ replicas: 6, status: ACTIVE, measurements: [metric(10)] }, [{ now: 0 }, { now: 60 }, { now: 120 }]);
    assert.deepEqual(r.map((d) => d.replicas), [6, 6, 6]);
    assert.deepEqual(r[2]?.status, r[1]?.status);
  });
  it('once the scale events of a burst are older than every policy period', () => {
    const r = passes({ replicas: 3, status: ACTIVE, behavior: {}, measurements: [metric(100)] }, [
      { now: 0 },
      { now: 60 },
      { now: 120 },
      { now: 180 },
      { now: 240 },
    ]);
    assert.deepEqual(r.map((d) => d.replicas), [7, 14, 20, 20, 20]);
    assert.equal(r[3]?.status.scaleEvents, undefined);
    assert.deepEqual(r[4]?.status, r[3]?.status);
  });
  it('for a paused target', () => {
    const r = passes({ replicas: 4, status: ACTIVE, annotations: { 'autoscaling.keda.sh/paused': 'true' } }, [{ now: 0 }, { now: 60 }]);
    assert.deepEqual(r[1]?.status, r[0]?.status);
    assert.deepEqual(r[1]?.events, []);
  });
});

describe('the status KEDA readers expect', () => {
  it("writes KEDA's fields on the first pass", () => {
    const d = run({
      replicas: 1,
      spec: {
        triggers: [
          { type: 'metrics-api', metadata: {} },
          { type: 'redis', metadata: {}, authenticationRef: { name: 'ta-redis' } },
          { type: 'redis', metadata: {}, authenticationRef: { name: 'ta-redis' } },
        ],
      },
      measurements: [metric(3), metric(0, { index: 1, type: 'redis', name: 's1-redis-jobs' }), metric(1, { index: 2, type: 'redis', name: 's2-redis-mail' })],
    });
    assert.deepEqual(d.status.externalMetricNames, ['s0-metric-api-value', 's1-redis-jobs', 's2-redis-mail']);
    assert.equal(d.status.triggersTypes, 'metrics-api,redis');
    assert.equal(d.status.authenticationsTypes, 'ta-redis');
    assert.deepEqual(d.status.triggersActivity, {
      's0-metric-api-value': { isActive: true },
      's1-redis-jobs': { isActive: false },
      's2-redis-mail': { isActive: true },
    });
    assert.deepEqual(d.status.conditions?.map((c) => c.type), ['Ready', 'Active', 'Fallback', 'Paused']);
    assert.equal(d.status.scaleTargetKind, 'apps/v1.Deployment');
    assert.equal(d.status.originalReplicaCount, 1);
  });
  it('writes conditions without lastTransitionTime', () => {
    const d = run({ replicas: 1 });
    for (const c of d.status.conditions ?? []) assert.ok(Object.keys(c).every((k) => ['type', 'status', 'reason', 'message'].includes(k)));
  });
  it('writes health only when a fallback is configured', () => {
    const status = { ...ACTIVE, health: { 's0-metric-api-value': { numberOfFailures: 2, status: 'Failing' as const } } };
    assert.equal(run({ replicas: 2, status, measurements: [metric(10)] }).status.health, undefined);
    const withFallback = run({ replicas: 2, status, spec: { fallback: { failureThreshold: 3, replicas: 6 } }, measurements: [metric(10)] });
    assert.deepEqual(withFallback.status.health, { 's0-metric-api-value': { numberOfFailures: 0, status: 'Happy' } });
  });
  it('reports metric values after fallback', () => {
    const d = run({
      replicas: 3,
      status: { ...ACTIVE, health: { 's0-metric-api-value': { numberOfFailures: 3, status: 'Failing' } } },
      spec: { fallback: { failureThreshold: 3, replicas: 6 } },
      measurements: [failed('timeout', { target: 10 }), metric(7, { index: 1 })],
    });
    assert.deepEqual(d.metricValues, { 's0-metric-api-value': 60, 's1-metric-api-value': 7 });
  });
  it('announces a rescale with the HPA text', () => {
    const d = run({ replicas: 2, status: ACTIVE, measurements: [metric(23)] });
    assert.deepEqual(d.events.at(-1), {
      type: 'Normal',
      reason: 'SuccessfulRescale',
      message: 'New size: 4; reason: external metric s0-metric-api-value above target',
    });
  });
  it('words the activation event as KEDA does', () => {
    const d = run({ replicas: 0, status: settled({ active: false }), measurements: [metric(3), metric(2, { index: 1, name: 's1-redis-jobs' })] });
    assert.equal(d.events.at(-1)?.message, 'Scaled apps/v1.Deployment shop/app from 0 to 1, triggered by s0-metric-api-value;s1-redis-jobs');
    assert.equal(d.status.lastActiveTime, iso(0));
  });
  it('decides the same for the same input: nothing depends on the clock', () => {
    const i = input({ replicas: 2, status: ACTIVE, measurements: [metric(23)] });
    assert.deepEqual(decide(i), decide(structuredClone(i)));
  });
});
