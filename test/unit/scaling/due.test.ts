import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDue, previousEvaluation, uidHash } from '../../../src/scaling/due.ts';

const UID = 'b1c4f1d2-5a3e-4c1b-9a7d-0d9e6f2a1b3c';
const S = 1000;
// a tick of this object for pollingInterval 300: ticks are phase + k * 300 s
const T = 1_800_000 * 1000 + (uidHash(UID) % (300 * S));

describe('previousEvaluation: the latest earlier pass whose due window held one of the object\'s ticks', () => {
  const cases: { name: string; interval: number; passes: number[]; now: number; want: number | undefined }[] = [
    { name: 'passes every 60 s, polled every 300 s: the pass just after its tick, not the last pass', interval: 300, passes: [T - 50 * S, T + 10 * S, T + 70 * S, T + 130 * S], now: T + 190 * S, want: T + 10 * S },
    { name: 'polled every 30 s, passes 60 s apart: due in every pass, so the last one', interval: 30, passes: [T - 50 * S, T + 10 * S, T + 70 * S], now: T + 130 * S, want: T + 70 * S },
    { name: 'no later window held a tick: the oldest recorded pass, the latest it can have been', interval: 300, passes: [T + 10 * S, T + 70 * S, T + 130 * S], now: T + 190 * S, want: T + 10 * S },
    { name: 'passes at or after now are not earlier evaluations', interval: 300, passes: [T - 50 * S, T + 10 * S, T + 400 * S], now: T + 200 * S, want: T + 10 * S },
    { name: 'order and repeats do not matter', interval: 300, passes: [T + 70 * S, T - 50 * S, T + 10 * S, T + 70 * S], now: T + 130 * S, want: T + 10 * S },
    { name: 'no record: unknown', interval: 300, passes: [], now: T, want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.equal(previousEvaluation(UID, c.interval, c.passes, c.now), c.want));

  it('agrees with isDue: the pass it names was due, the ones after it were not', () => {
    const passes = [T - 50 * S, T + 10 * S, T + 70 * S, T + 130 * S];
    assert.equal(isDue(UID, 300, passes[0], passes[1]!).due, true);
    assert.equal(isDue(UID, 300, passes[1], passes[2]!).due, false);
    assert.equal(isDue(UID, 300, passes[2], passes[3]!).due, false);
  });
});
