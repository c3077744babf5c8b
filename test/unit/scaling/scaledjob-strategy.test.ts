// How many Jobs a pass creates, per scalingStrategy. Each case is worked out by hand from KEDA v2.20
// pkg/scaling/executor/scale_jobs.go: with r = running - min, p = pending, room = MaxReplicaCount(),
//   running < min -> create min - running
//   default  effective = maxScale - r
//   custom   effective = min(maxScale - deduction - trunc(r * percentage), room)
//   accurate effective = room - r if maxScale + r - p > room, else maxScale - p
//   eager    effective = min(room - r - p, maxScale), scaleTo = room
// then effective = max(effective, 0) and an active ScaledJob creates min(scaleTo, effective).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jobCount, resolveStrategy, type JobCountInput } from '../../../src/scaling/scaledjob/strategy.ts';
import type { ScalingStrategySpec } from '../../../src/scaling/scaledjob.ts';

interface Row {
  name: string;
  s?: ScalingStrategySpec;
  /** min, room, running, pending, scaleTo, maxScale; active unless said */
  i: Partial<Omit<JobCountInput, 'strategy'>>;
  create: number;
  why?: RegExp;
}

const DEFAULT = { strategy: 'default' } as const;
const ACCURATE = { strategy: 'accurate' } as const;
const EAGER = { strategy: 'eager' } as const;
const custom = (deduction: number | undefined, percentage: string | undefined): ScalingStrategySpec => ({
  strategy: 'custom',
  ...(deduction !== undefined ? { customScalingQueueLengthDeduction: deduction } : {}),
  ...(percentage !== undefined ? { customScalingRunningJobPercentage: percentage } : {}),
});

const rows: Row[] = [
  // default: 4 - 0 = 4; min(7, 4) = 4
  { name: 'default: a queue of 7 at target 2 with nothing running creates 4', s: DEFAULT, i: { scaleTo: 7, maxScale: 4 }, create: 4 },
  // 4 - 2 = 2
  { name: 'default: 2 running Jobs are deducted from maxScale 4', s: DEFAULT, i: { scaleTo: 7, maxScale: 4, running: 2 }, create: 2 },
  // 4 - 5 = -1 -> 0
  { name: 'default: more running than maxScale creates none', s: DEFAULT, i: { scaleTo: 7, maxScale: 4, running: 5 }, create: 0, why: /all requested Jobs exist/ },
  // pending is not looked at: 4 - 2 = 2
  { name: 'default: pending Jobs count as running, no more', s: DEFAULT, i: { scaleTo: 7, maxScale: 4, running: 2, pending: 2 }, create: 2 },
  { name: 'default: an inactive ScaledJob creates none', s: DEFAULT, i: { scaleTo: 7, maxScale: 4, active: false }, create: 0, why: /not active/ },
  { name: 'no strategy is the default one', i: { scaleTo: 7, maxScale: 4, running: 1 }, create: 3 },
  // KEDA's own test: GetEffectiveMaxScale(3, 2, 0, 5, 1) = 1; min(1, 1) = 1
  { name: 'default: KEDA\'s case maxScale 3, 2 running, scaleTo 1 creates 1', s: DEFAULT, i: { scaleTo: 1, maxScale: 3, running: 2, room: 5 }, create: 1 },

  // custom: 10 - 1 - trunc(4 x 0.5) = 7; min(7, 100) = 7; min(scaleTo 10, 7) = 7
  { name: 'custom: deduction 1 and half of 4 running leave 7', s: custom(1, '0.5'), i: { scaleTo: 10, maxScale: 10, running: 4 }, create: 7 },
  // 10 - 0 - trunc(3 x 0.5 = 1.5 -> 1) = 9
  { name: 'custom: the running share is truncated (3 x 0.5 = 1.5 -> 1)', s: custom(0, '0.5'), i: { scaleTo: 10, maxScale: 10, running: 3 }, create: 9 },
  // 8 - (-5) - 0 = 13, capped at room 10; min(20, 10) = 10
  { name: 'custom: a negative deduction can ask for more, capped at the room', s: custom(-5, '0'), i: { scaleTo: 20, maxScale: 8, room: 10 }, create: 10, why: /capped at 10/ },
  // 5 - 0 - trunc(3 x 1) = 2
  { name: 'custom: percentage 1 deducts every running Job', s: custom(undefined, '1'), i: { scaleTo: 5, maxScale: 5, running: 3 }, create: 2 },
  // no percentage: KEDA falls back to default and ignores the deduction: 4 - 1 = 3
  { name: 'custom without customScalingRunningJobPercentage behaves as default (deduction ignored)', s: custom(3, undefined), i: { scaleTo: 4, maxScale: 4, running: 1 }, create: 3, why: /using default; default: maxScale 4 - running 1 = 3/ },
  { name: 'custom with an unparsable percentage behaves as default', s: custom(3, 'half'), i: { scaleTo: 4, maxScale: 4, running: 1 }, create: 3, why: /got "half": using default/ },

  // accurate: 4 + 2 - 0 = 6 <= 100 -> 4 - 0 = 4 (running Jobs took their items off the queue)
  { name: 'accurate: running Jobs are not deducted, the queue holds only waiting items', s: ACCURATE, i: { scaleTo: 7, maxScale: 4, running: 2 }, create: 4 },
  // 4 + 3 - 2 = 5 <= 100 -> 4 - 2 = 2
  { name: 'accurate: 2 pending Jobs are deducted (the pending correction)', s: ACCURATE, i: { scaleTo: 7, maxScale: 4, running: 3, pending: 2 }, create: 2 },
  // 8 + 5 - 1 = 12 > 10 -> 10 - 5 = 5; min(8, 5) = 5
  { name: 'accurate: over the room, creates room - running', s: ACCURATE, i: { scaleTo: 8, maxScale: 8, running: 5, pending: 1, room: 10 }, create: 5, why: /> 10, so 10 - running 5 = 5/ },
  // 6 + 4 - 0 = 10, not > 10 -> 6 - 0 = 6
  { name: 'accurate: exactly at the room still creates maxScale - pending', s: ACCURATE, i: { scaleTo: 6, maxScale: 6, running: 4, room: 10 }, create: 6 },
  // 3 + 3 - 3 = 3 <= 5 -> 3 - 3 = 0
  { name: 'accurate: every running Job pending covers the queue, none created', s: ACCURATE, i: { scaleTo: 3, maxScale: 3, running: 3, pending: 3, room: 5 }, create: 0 },
  // KEDA's case (20, 15, 10, 20): 20 + 15 - 10 = 25 > 20 -> 20 - 15 = 5
  { name: 'accurate: KEDA\'s case maxScale 20, 15 running, 10 pending, room 20 creates 5', s: ACCURATE, i: { scaleTo: 20, maxScale: 20, running: 15, pending: 10, room: 20 }, create: 5 },

  // eager: min(10 - 3 - 0, 4) = 4; scaleTo becomes 10; min(10, 4) = 4
  { name: 'eager: 3 running, room 10, maxScale 4 creates 4', s: EAGER, i: { scaleTo: 4, maxScale: 4, running: 3, room: 10 }, create: 4 },
  // min(10 - 1 - 6, 4) = 3
  { name: 'eager: running and pending Jobs use up the room', s: EAGER, i: { scaleTo: 4, maxScale: 4, running: 1, pending: 6, room: 10 }, create: 3 },
  // min(10 - 7 - 3, 4) = 0
  { name: 'eager: a full room creates none', s: EAGER, i: { scaleTo: 4, maxScale: 4, running: 7, pending: 3, room: 10 }, create: 0 },
  // queue 3 at target 0.5: scaleTo 3, maxScale 6; eager min(10, 6) = 6 with scaleTo 10 -> 6
  { name: 'eager: a target below 1 creates maxScale 6 where default stops at the queue of 3', s: EAGER, i: { scaleTo: 3, maxScale: 6, room: 10 }, create: 6 },
  // same input, default: 6 - 0 = 6; min(3, 6) = 3
  { name: 'default: a target below 1 stops at the queue of 3', s: DEFAULT, i: { scaleTo: 3, maxScale: 6, room: 10 }, create: 3 },

  // min 2, nothing running: 2 - 0 = 2 whatever the strategy and queue
  { name: 'minReplicaCount 2 with nothing running creates 2', s: ACCURATE, i: { minReplicaCount: 2, scaleTo: 0, maxScale: 0 }, create: 2, why: /0 running < minReplicaCount 2: 2 to reach it/ },
  { name: 'minReplicaCount 2 with 1 running creates 1', s: EAGER, i: { minReplicaCount: 2, running: 1, scaleTo: 9, maxScale: 9 }, create: 1 },
  // min 2, 2 running: r = 0 -> default 3 - 0 = 3; min(5, 3) = 3
  { name: 'minReplicaCount 2 reached: the Jobs above the minimum are what the strategy deducts', s: DEFAULT, i: { minReplicaCount: 2, running: 2, scaleTo: 5, maxScale: 3 }, create: 3 },
  // min 2, max 10 -> room 8; 6 running -> r = 4; accurate 8 + 4 - 0 = 12 > 8 -> 8 - 4 = 4
  { name: 'minReplicaCount 2, maxReplicaCount 10: accurate stops at the room of 8', s: ACCURATE, i: { minReplicaCount: 2, room: 8, running: 6, scaleTo: 8, maxScale: 8 }, create: 4 },
  // a negative queue: scaleTo -2, custom -5 deduction: effective 3; KEDA would allocate -2 Jobs
  { name: 'a negative queue creates none', s: custom(-5, '0'), i: { scaleTo: -2, maxScale: -2 }, create: 0 },
];

describe('Jobs created per scalingStrategy', () => {
  for (const c of rows) {
    it(c.name, () => {
      const got = jobCount({ strategy: resolveStrategy(c.s), minReplicaCount: 0, room: 100, running: 0, pending: 0, scaleTo: 0, maxScale: 0, active: true, ...c.i });
      assert.equal(got.jobsToCreate, c.create, got.why);
      if (c.why) assert.match(got.why, c.why);
    });
  }
});

describe('customScalingRunningJobPercentage as Go\'s ParseFloat reads it', () => {
  const cases: Array<[string, number | undefined]> = [['0.5', 0.5], ['1', 1], ['.25', 0.25], ['+1e-1', 0.1], ['2.', 2], ['', undefined], [' 0.5', undefined], ['50%', undefined], ['1_0', undefined], ['inf', undefined], ['1e400', undefined]];
  for (const [text, want] of cases) {
    it(`"${text}" -> ${want === undefined ? 'default strategy' : want}`, () => {
      const s = resolveStrategy({ strategy: 'custom', customScalingRunningJobPercentage: text });
      assert.deepEqual(s.kind === 'custom' ? s.percentage : undefined, want);
    });
  }
});
