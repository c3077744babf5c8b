import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyFallback, fallbackValue } from '../../../src/scaling/fallback.ts';
import type { ScaledObjectSpec } from '../../../src/scaling/types.ts';
import { failed, metric } from './fixtures.ts';

type Fallback = NonNullable<ScaledObjectSpec['fallback']>;
const fb = (over: Partial<Fallback> = {}): Fallback => ({ failureThreshold: 3, replicas: 6, ...over });

describe('the synthetic value that lands the HPA on the fallback count', () => {
  const cases = [
    { name: 'static: target 10 x 6 replicas = 60 (worked example 8)', f: fb(), type: 'AverageValue', cur: 2, ready: 2, want: 60_000 },
    { name: 'currentReplicas: target x current', f: fb({ behavior: 'currentReplicas' }), type: 'AverageValue', cur: 9, ready: 9, want: 90_000 },
    { name: 'currentReplicasIfHigher keeps 9 over a fallback of 6', f: fb({ behavior: 'currentReplicasIfHigher' }), type: 'AverageValue', cur: 9, ready: 9, want: 90_000 },
    { name: 'currentReplicasIfHigher takes 6 over a current 2', f: fb({ behavior: 'currentReplicasIfHigher' }), type: 'AverageValue', cur: 2, ready: 2, want: 60_000 },
    { name: 'currentReplicasIfLower takes 2 under a fallback of 6', f: fb({ behavior: 'currentReplicasIfLower' }), type: 'AverageValue', cur: 2, ready: 2, want: 20_000 },
    { name: 'Value targets divide by ready pods: 10 x 6 / 4', f: fb(), type: 'Value', cur: 4, ready: 4, want: 15_000 },
    { name: 'Value targets truncate to milli-units: 10 x 6 / 7', f: fb(), type: 'Value', cur: 7, ready: 7, want: 8_571 },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const v = fallbackValue(c.f, c.type, 10, c.cur, c.ready);
      assert.ok(!('error' in v));
      assert.equal(v.valueMilli, c.want);
    });
  }
  it('cannot fall back for a Value target without ready pods', () => {
    assert.ok('error' in fallbackValue(fb(), 'Value', 10, 3, 0));
  });
});

describe('health counting', () => {
  const m = [failed('connection refused', { target: 10 })];
  const health = (n: number) => ({ 's0-metric-api-value': { numberOfFailures: n, status: 'Failing' as const } });
  const cases = [
    { name: 'the third failure with threshold 3 still passes the error through', prev: health(2), wantFailures: 3, wantFallback: false },
    { name: 'the fourth failure with threshold 3 falls back and counts as active', prev: health(3), wantFailures: 4, wantFallback: true },
    { name: 'threshold 0 falls back on the first failure', prev: undefined, threshold: 0, wantFailures: 1, wantFallback: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = applyFallback(m, fb({ failureThreshold: c.threshold ?? 3 }), c.prev, 2, 2);
      assert.equal(out.health?.['s0-metric-api-value']?.numberOfFailures, c.wantFailures);
      assert.equal(out.readings[0]?.fallback, c.wantFallback);
      assert.equal(out.readings[0]?.active, c.wantFallback);
      assert.equal(out.fallbackActive, c.wantFallback);
    });
  }
  it('resets a failing metric to Happy on its next success', () => {
    const out = applyFallback([metric(3)], fb(), health(7), 2, 2);
    assert.deepEqual(out.health, { 's0-metric-api-value': { numberOfFailures: 0, status: 'Happy' } });
    assert.equal(out.fallbackActive, false);
  });
  it('writes no health at all without a fallback block', () => {
    const out = applyFallback(m, undefined, health(2), 2, 2);
    assert.equal(out.health, undefined);
    assert.equal(out.readings[0]?.error, 'connection refused');
  });
  it('drops health entries of metrics that no longer exist', () => {
    const out = applyFallback([metric(3)], fb(), { 's9-gone': { numberOfFailures: 4, status: 'Failing' } }, 2, 2);
    assert.deepEqual(Object.keys(out.health ?? {}), ['s0-metric-api-value']);
  });
});
