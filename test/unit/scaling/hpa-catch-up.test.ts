// A run in period mode evaluates an object at its pollingInterval and applies the HPA's 15 s syncs
// that fell since its previous evaluation (and the one right after an activation), so a burst ramps
// as fast as KEDA + the HPA; without catch-up (mode once) one sync per evaluation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { syncInstants, MAX_CATCH_UP_STEPS } from '../../../src/scaling/hpa-catch-up.ts';
import { at, eventReasons, iso, metric, passes, settled } from './fixtures.ts';

const IDLE = settled({ active: false });
const ACTIVE = settled({ active: true });
const BURST = { replicas: 0, status: IDLE, measurements: [metric(64, { target: 1 })], spec: { maxReplicaCount: 64 } };

describe('the HPA sync instants between two evaluations', () => {
  it('are the multiples of 15 s after the previous evaluation, up to now', () => {
    assert.deepEqual(syncInstants(at(0), at(30)), [at(15), at(30)]);
    assert.deepEqual(syncInstants(at(5), at(20)), [at(15)]);
    assert.deepEqual(syncInstants(at(1), at(14)), [], 'no sync fell');
  });

  it('are one, now, without a previous evaluation on record; at most 16 after a long gap', () => {
    assert.deepEqual(syncInstants(undefined, at(7)), [at(7)]);
    const long = syncInstants(at(0), at(3600));
    assert.equal(long.length, MAX_CATCH_UP_STEPS);
    assert.equal(long.at(-1), at(3600), 'the latest syncs');
  });
});

describe('catching up with the HPA in period mode', () => {
  it('takes a burst 0 -> 64 in three 30 s evaluations: 0 -> 1 -> 4 at activation, then two syncs each', () => {
    const r = passes({ ...BURST, hpaCatchUp: true }, [{ now: 0 }, { now: 30 }, { now: 60 }]);
    assert.deepEqual(r.map((d) => d.replicas), [4, 16, 64]);
    assert.deepEqual(eventReasons(r[0]!), ['KEDAScaleTargetActivated', 'SuccessfulRescale'], 'KEDA\'s activation, then the HPA\'s rescale');
    assert.match(r[0]!.events[1]!.message, /^New size: 4; reason: .* above target$/);
    assert.match(r[1]!.reason, /2 HPA syncs since the previous evaluation took 4 -> 16/);
    assert.deepEqual(r[1]!.status.scaleEvents, undefined, 'without behavior the legacy limits keep no scale events');
  });

  it('without catch-up (mode once) takes one sync per evaluation, and none at activation', () => {
    const r = passes(BURST, [{ now: 0 }, { now: 30 }, { now: 60 }]);
    assert.deepEqual(r.map((d) => d.replicas), [1, 4, 8]);
    assert.deepEqual(eventReasons(r[0]!), ['KEDAScaleTargetActivated']);
  });

  it('takes no step in an evaluation that no sync fell before (pollingInterval 5 s)', () => {
    const r = passes({ replicas: 1, status: ACTIVE, previous: -4, measurements: [metric(64, { target: 1 })], spec: { maxReplicaCount: 64 }, hpaCatchUp: true },
      [{ now: 1 }, { now: 6 }, { now: 11 }, { now: 16 }]);
    assert.deepEqual(r.map((d) => d.replicas), [4, 4, 4, 8]);
    assert.match(r[1]!.reason, /no HPA sync \(every 15 s\) since the previous evaluation/);
    assert.deepEqual(r[1]!.events, [], 'nothing to report');
  });

  it('applies a behavior policy at each sync\'s own time: Pods 1 per 15s adds 4 in a 60 s gap', () => {
    const r = passes({
      replicas: 1, status: ACTIVE, previous: 0, measurements: [metric(50)], hpaCatchUp: true,
      behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 15 }] } },
    }, [{ now: 60 }]);
    assert.equal(r[0]!.replicas, 5);
    // one pod a sync; the events older than the policy's 15 s have left the window
    assert.deepEqual(r[0]!.status.scaleEvents, [{ time: iso(60), change: 1 }]);
  });

  it('keeps the legacy 300 s downscale stabilization: 8 holds until the first sync 300 s after the last 8', () => {
    const r = passes({ replicas: 8, status: ACTIVE, measurements: [metric(40)], hpaCatchUp: true }, [
      { now: 0 },
      { now: 60, measurements: [metric(15)] },
      { now: 300, measurements: [metric(15)] },
      { now: 330, measurements: [metric(15)] },
    ]);
    assert.deepEqual(r.map((d) => d.replicas), [8, 8, 8, 3]);
    assert.match(r[3]!.reason, /2 HPA syncs since the previous evaluation took 8 -> 3/);
  });

  it('takes one sync for a per-pod metric (Value): its reading changes with the pods the steps add', () => {
    const r = passes({ replicas: 2, status: ACTIVE, previous: 0, measurements: [metric(40, { metricType: 'Value', target: 5 })], spec: { maxReplicaCount: 64 }, hpaCatchUp: true },
      [{ now: 60 }]);
    assert.equal(r[0]!.replicas, 4, 'one legacy step from 2: max(2 x 2, 4); four syncs would go to 16');
  });

  it('does not pull a sync forward at activation for a per-pod metric', () => {
    const r = passes({ ...BURST, measurements: [metric(64, { metricType: 'Value', target: 1 })], hpaCatchUp: true }, [{ now: 0 }]);
    assert.equal(r[0]!.replicas, 1);
  });
});
