// When a run in mode period ends and when its next round starts: tables of plain times.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextRoundAt, runEnd, runOutcome } from '../../src/period.ts';
import { nextTick, isDue } from '../../src/scaling/due.ts';
import { nextTick as nextScheduledTick } from '../../src/schedule.ts';

const T = Date.parse('2026-12-03T06:00:00.000Z');
const s = (n: number) => T + n * 1000;

describe('runEnd', () => {
  const cases: [string, Parameters<typeof runEnd>, number][] = [
    ['the default (50 s deadline, 5 s flush) on a one-minute schedule, started 2 s late: the deadline first', [s(2), 50_000, s(60), 5000], s(52)],
    ['started 8 s late: the next tick less the flush and a second comes first', [s(8), 50_000, s(60), 5000], s(54)],
    ['no usable next tick: the deadline alone', [s(0), 10_000, undefined, 5000], s(10)],
    ['a short deadline in a long period', [s(0), 10_000, s(3600), 5000], s(10)],
  ];
  for (const [name, args, want] of cases) it(name, () => assert.equal(runEnd(...args), want));
});

describe('nextRoundAt', () => {
  const cases: [string, Parameters<typeof nextRoundAt>, number | undefined][] = [
    ['at the next tick, rounded up to a whole second', [s(0), s(2.3), s(50)], s(3)],
    ['a tick on a whole second stays on it', [s(0), s(4), s(50)], s(4)],
    ['never sooner than a second after the round', [s(10.2), s(10.5), s(50)], s(11.2)],
    ['never later than 30 s after it: a new object waits at most one default pollingInterval', [s(0), s(300), s(50)], s(30)],
    ['no object in scope: 30 s later', [s(0), undefined, s(50)], s(30)],
    ['a round that would start after the end does not start', [s(48), s(51), s(50)], undefined],
    ['nor one in the last second before the end', [s(48), s(49.5), s(50)], undefined],
    ['one a second before the end does', [s(47), s(49), s(50)], s(49)],
  ];
  for (const [name, args, want] of cases) it(name, () => assert.equal(nextRoundAt(...args), want));
});

describe('runOutcome', () => {
  const cases: [string, Parameters<typeof runOutcome>[0], ReturnType<typeof runOutcome>][] = [
    ['every round fine', ['success', 'success'], 'success'],
    ['one round with a failed object', ['success', 'partial_failure', 'success'], 'partial_failure'],
    ['the lease lost in the last round', ['partial_failure', 'lease_lost'], 'lease_lost'],
    ['no round at all (started after its end): nothing failed', [], 'success'],
  ];
  for (const [name, rounds, want] of cases) it(name, () => assert.equal(runOutcome(rounds), want));
});

describe('nextTick (an object\'s)', () => {
  it('is the tick that makes the object due in the round that reaches it, and not before', () => {
    for (const uid of ['a', 'b', 'c', 'd']) {
      for (const interval of [1, 2, 30]) {
        const next = nextTick(uid, interval, T);
        assert.ok(next > T && next <= T + interval * 1000, `${uid}/${interval}`);
        assert.equal(isDue(uid, interval, T, next - 1).due, false);
        assert.equal(isDue(uid, interval, T, next).due, true);
      }
    }
  });
});

describe('nextTick (the schedule\'s)', () => {
  it('is the first tick after the given time, not the time itself', () => {
    assert.deepEqual(nextScheduledTick('* * * * *', s(0)), { time: s(60) });
    assert.deepEqual(nextScheduledTick('* * * * *', s(0.5)), { time: s(60) });
    assert.deepEqual(nextScheduledTick('@hourly', s(0)), { time: s(3600) });
  });
});
