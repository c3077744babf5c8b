// The pass history the shard's Lease keeps: recent passes as they were, older ones thinned to one a
// minute, so that a run in mode period (a round up to every second) still places objects polled
// rarely, and never earlier than their real evaluation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { history, PASS_HISTORY_LENGTH } from '../../../src/kube/lease.ts';
import { previousEvaluation } from '../../../src/scaling/due.ts';

const T = Date.parse('2026-12-03T06:00:00.000Z');
const s = (n: number) => T + n * 1000;

/** n passes from `from` on, `gapS` apart */
const passes = (from: number, n: number, gapS: number) => Array.from({ length: n }, (_, i) => from + i * gapS * 1000);

describe('pass history', () => {
  it('keeps a short history as it is, oldest first, with the new pass last', () => {
    assert.deepEqual(history([s(0), s(60)], s(120)), [s(0), s(60), s(120)]);
  });

  it('drops passes recorded at or after the new one (another clock\'s), as before', () => {
    assert.deepEqual(history([s(0), s(60), s(130)], s(120)), [s(0), s(60), s(120)]);
  });

  it('at one pass a minute (mode once) keeps 128 passes: the 64 latest and 64 older, none thinned', () => {
    const h = history(passes(s(0), 200, 60), s(200 * 60));
    assert.equal(h.length, 2 * PASS_HISTORY_LENGTH);
    assert.deepEqual(h, passes(s((201 - 128) * 60), 128, 60));
  });

  it('at a round a second (mode period) keeps the 64 latest rounds and the last round of each minute before them', () => {
    const h = history(passes(s(0), 600, 1), s(600));
    assert.deepEqual(h.slice(-PASS_HISTORY_LENGTH), passes(s(600 - 63), 64, 1));
    const older = h.slice(0, -PASS_HISTORY_LENGTH);
    // rounds 0..536 are older: the last of minutes 0..7 (59, 119, ..., 479) and the last older one (536)
    assert.deepEqual(older, [...passes(s(59), 8, 60), s(536)]);
  });

  it('never places an object\'s previous evaluation earlier than the full history does, and at most a minute later', () => {
    const full = [...passes(s(0), 900, 1), s(900)];
    const kept = history(full.slice(0, -1), s(900));
    const now = s(901);
    for (let u = 0; u < 200; u++) {
      const uid = `uid-${u}`;
      for (const interval of [1, 5, 30, 60, 300, 600]) {
        const real = previousEvaluation(uid, interval, full, now)!;
        const read = previousEvaluation(uid, interval, kept, now)!;
        assert.ok(read >= real, `${uid}/${interval}: read ${read - T} before the real ${real - T}`);
        assert.ok(read - real <= 60_000, `${uid}/${interval}: read ${read - real} ms after the real`);
      }
    }
  });
});
