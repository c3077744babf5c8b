// Combining trigger readings into a ScaledJob's queueLength and maxValue, each case worked out by hand
// from KEDA v2.20 pkg/scaling/scaledjob/metrics.go (IsScaledJobActive, CalculateQueueLengthAndMaxValue)
// and scale_handler.go getScaledJobMetrics. Per trigger: maxValue = min(value / target, room).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { combineTriggers } from '../../../src/scaling/scaledjob/metrics.ts';
import type { MultipleScalersCalculation } from '../../../src/scaling/scaledjob.ts';
import type { TriggerMeasurement } from '../../../src/scaling/types.ts';
import { failedReading, reading } from './scaledjob-fixtures.ts';

interface Row {
  name: string;
  m: TriggerMeasurement[];
  calc?: MultipleScalersCalculation;
  min?: number;
  room?: number;
  want: { active: boolean; scaleTo: number; maxScale: number; error?: boolean };
}

const r = (value: number, index: number, target: number, o: { active?: boolean } = {}) => reading(value, { index, target, ...o });
// three active triggers: s0 10/5 -> 2, s1 4/1 -> 4, s2 6/2 -> 3
const THREE = [r(10, 0, 5), r(4, 1, 1), r(6, 2, 2)];

const rows: Row[] = [
  // 7 / 2 = 3.5 -> maxScale ceil(3.5) = 4; scaleTo ceil(7) = 7
  { name: 'one trigger: a queue of 7 at target 2 asks for 4 jobs (scaleTo 7)', m: [r(7, 0, 2)], want: { active: true, scaleTo: 7, maxScale: 4 } },
  // 500 / 2 = 250, capped at the room 10
  { name: 'maxValue is capped at the room above the minimum', m: [r(500, 0, 2)], room: 10, want: { active: true, scaleTo: 500, maxScale: 10 } },
  // target 0: KEDA skips the division and leaves maxValue 0
  { name: 'a target of 0 asks for no jobs although the trigger is active', m: [r(5, 0, 0)], want: { active: true, scaleTo: 5, maxScale: 0 } },
  // 0.2 / 1 = 0.2 -> ceil 1; scaleTo ceil(0.2) = 1
  { name: 'a fractional queue rounds up to one job', m: [r(0.2, 0, 1)], want: { active: true, scaleTo: 1, maxScale: 1 } },

  // max: the largest queue is s0 (10); its maxValue 2 is taken, not the largest maxValue (s1's 4)
  { name: 'max: takes the trigger with the longest queue and that trigger\'s maxValue', m: THREE, calc: 'max', want: { active: true, scaleTo: 10, maxScale: 2 } },
  { name: 'max is the default', m: THREE, want: { active: true, scaleTo: 10, maxScale: 2 } },
  // s0 (queue 10) is not active: s1 4/2 = 2
  { name: 'max: an inactive trigger is not picked however long its queue', m: [r(10, 0, 1, { active: false }), r(4, 1, 2)], want: { active: true, scaleTo: 4, maxScale: 2 } },
  // the only active trigger has queue 0: 0 > 0 is false, nothing is picked, the object stays inactive
  { name: 'max: an active trigger with an empty queue leaves the ScaledJob inactive', m: [r(0, 0, 1, { active: true })], want: { active: false, scaleTo: 0, maxScale: 0 } },

  // min: 10 (pick) -> 4 < 10 (pick) -> 6 < 4 no: queue 4, s1's maxValue 4
  { name: 'min: takes the trigger with the shortest queue and its maxValue', m: THREE, calc: 'min', want: { active: true, scaleTo: 4, maxScale: 4 } },
  // s0 queue 0 picked first; the next active trigger replaces a pick of 0: s1 5/1 -> 5
  { name: 'min: a first active trigger with an empty queue is replaced by the next one (KEDA\'s order quirk)', m: [r(0, 0, 1, { active: true }), r(5, 1, 1)], calc: 'min', want: { active: true, scaleTo: 5, maxScale: 5 } },
  // s0 5 picked, then 0 < 5 picked: queue 0, active
  { name: 'min: an active trigger with an empty queue after another one wins', m: [r(5, 0, 1), r(0, 1, 1, { active: true })], calc: 'min', want: { active: true, scaleTo: 0, maxScale: 0 } },
  { name: 'min: inactive triggers are not picked', m: [r(2, 0, 1, { active: false }), r(6, 1, 2)], calc: 'min', want: { active: true, scaleTo: 6, maxScale: 3 } },

  // avg over the active s0 and s1 (s2 inactive): queue (10 + 4) / 2 = 7, maxValue (2 + 4) / 2 = 3
  { name: 'avg: averages queue and maxValue over the active triggers only', m: [r(10, 0, 5), r(4, 1, 1), r(100, 2, 1, { active: false })], calc: 'avg', want: { active: true, scaleTo: 7, maxScale: 3 } },
  // (3 + 4) / 2 = 3.5 -> 4; (1.5 + 2) / 2 = 1.75 -> 2
  { name: 'avg: rounds the averages up', m: [r(3, 0, 2), r(4, 1, 2)], calc: 'avg', want: { active: true, scaleTo: 4, maxScale: 2 } },
  { name: 'avg: no active trigger asks for nothing', m: [r(3, 0, 2, { active: false })], calc: 'avg', want: { active: false, scaleTo: 0, maxScale: 0 } },

  // sum over active: queue 10 + 4 = 14, maxValue 2 + 4 = 6 (s2 inactive)
  { name: 'sum: adds queues and maxValues of the active triggers', m: [r(10, 0, 5), r(4, 1, 1), r(100, 2, 1, { active: false })], calc: 'sum', want: { active: true, scaleTo: 14, maxScale: 6 } },
  // each capped at 5 first (10 -> 5, 8 -> 5), the sum 10 capped at 5 again
  { name: 'sum: the summed maxValue is capped at the room again', m: [r(10, 0, 1), r(8, 1, 1)], calc: 'sum', room: 5, want: { active: true, scaleTo: 18, maxScale: 5 } },

  // s0 failed: only s1 counts (6 / 2 = 3); the pass has an error
  { name: 'a trigger whose read failed takes no part and marks an error', m: [failedReading('connection refused', { index: 0 }), r(6, 1, 2)], want: { active: true, scaleTo: 6, maxScale: 3, error: true } },
  { name: 'every trigger failed: inactive, with an error', m: [failedReading('connection refused')], want: { active: false, scaleTo: 0, maxScale: 0, error: true } },
  // minReplicaCount > 0 makes the object active whatever the triggers say
  { name: 'minReplicaCount 2 makes a quiet ScaledJob active', m: [r(0, 0, 1)], min: 2, want: { active: true, scaleTo: 0, maxScale: 0 } },
  // cpu has no external metric: KEDA skips it (s1: 4 / 2 = 2)
  { name: 'a cpu trigger takes no part', m: [reading(80, { index: 0, type: 'cpu', target: 50 }), r(4, 1, 2)], want: { active: true, scaleTo: 4, maxScale: 2 } },
];

describe('ScaledJob triggers combined by multipleScalersCalculation', () => {
  for (const c of rows) {
    it(c.name, () => {
      const got = combineTriggers(c.m, c.calc, c.min ?? 0, c.room ?? 100);
      assert.deepEqual(
        { active: got.active, scaleTo: got.scaleTo, maxScale: got.maxScale, error: got.error },
        { error: false, ...c.want },
        got.why,
      );
    });
  }

  it('lists every external trigger in status order, and the active ones', () => {
    const got = combineTriggers([r(3, 1, 1), reading(90, { index: 2, type: 'cpu' }), failedReading('timeout', { index: 0 }), r(0, 3, 1)], 'max', 0, 100);
    assert.deepEqual(got.metricNames, ['s0-rabbitmq-jobs', 's1-rabbitmq-jobs', 's3-rabbitmq-jobs']);
    assert.deepEqual(got.activeMetricNames, ['s1-rabbitmq-jobs']);
  });

  it('says which trigger the numbers came from', () => {
    assert.equal(combineTriggers(THREE, 'max', 0, 100).why, 's0-rabbitmq-jobs queue 10 -> 2 jobs');
    assert.equal(combineTriggers(THREE, 'sum', 0, 100).why, 'sum of s0-rabbitmq-jobs queue 10 -> 2 jobs, s1-rabbitmq-jobs queue 4 -> 4 jobs, s2-rabbitmq-jobs queue 6 -> 3 jobs');
    assert.equal(combineTriggers([r(0, 0, 1, { active: true })], 'max', 0, 100).why, 'no active trigger has a queue above 0');
  });
});
