import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { extremesWithin, recordRecommendation } from '../../../src/scaling/stabilization.ts';
import type { Recommendation } from '../../../src/scaling/types.ts';
import { at, iso } from './fixtures.ts';

const h = (...entries: Array<[number, number]>): Recommendation[] => entries.map(([s, replicas]) => ({ time: iso(s), replicas }));

describe('stabilization window over a history that records only changes', () => {
  const cases = [
    { name: 'a zero window sees only the new proposal', history: h([-100, 8]), proposal: 3, window: 0, want: { min: 3, max: 3 } },
    { name: 'the recommendation still in force counts however old it is', history: h([-3000, 8]), proposal: 3, window: 300, want: { min: 3, max: 8 } },
    { name: 'a superseded recommendation counts while it was superseded inside the window', history: h([-1000, 8], [-299, 5]), proposal: 3, window: 300, want: { min: 3, max: 8 } },
    { name: 'a superseded recommendation is out once superseded exactly at the window edge', history: h([-1000, 8], [-300, 5]), proposal: 3, window: 300, want: { min: 3, max: 5 } },
    { name: 'the lowest recent recommendation bounds a scale-up', history: h([-50, 2], [-20, 6]), proposal: 9, window: 60, want: { min: 2, max: 9 } },
    { name: 'worked example 3: 8, 6, 5 in the last 300 s hold a proposal of 3 at 8', history: h([-200, 8], [-140, 6], [-80, 5]), proposal: 3, window: 300, want: { min: 3, max: 8 } },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(extremesWithin(c.history, c.proposal, at(0), c.window), c.want));
  }
});

describe('recording recommendations', () => {
  it('leaves the history untouched when the proposal equals the one in force', () => {
    const history = h([-500, 4], [-100, 6]);
    assert.deepEqual(recordRecommendation(history, 6, at(0), 300), history);
  });
  it('appends the proposal when it changes, stamped with the pass time', () => {
    assert.deepEqual(recordRecommendation(h([-100, 6]), 3, at(0), 300), h([-100, 6], [0, 3]));
  });
  it('drops steps that ended before the longest window and keeps the one in force', () => {
    assert.deepEqual(recordRecommendation(h([-900, 2], [-700, 9], [-350, 4]), 5, at(0), 300), h([-350, 4], [0, 5]));
  });
  it('keeps the stored time text of entries it keeps', () => {
    const history = [{ time: '2025-03-01T09:58:20.000Z', replicas: 6 }];
    assert.deepEqual(recordRecommendation(history, 6, at(0), 300), history);
  });
});
