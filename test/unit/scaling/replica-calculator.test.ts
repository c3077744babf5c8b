import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_TOLERANCE,
  averageValueProposal,
  replicasForMetrics,
  toMilli,
  valueProposal,
  withinTolerance,
} from '../../../src/scaling/replica-calculator.ts';
import type { MetricForReplicas } from '../../../src/scaling/replica-calculator.ts';

const tol = DEFAULT_TOLERANCE;

describe('AverageValue proposal: ceil(sum / target), kept within 10% of target x pods', () => {
  const cases = [
    { name: 'asks for ceil(23 / 5) = 5 for 2 pods (worked example 1)', usage: 23, target: 5, pods: 2, want: 5 },
    { name: 'keeps 4 pods at 5% over target (worked example 2)', usage: 21, target: 5, pods: 4, want: 4 },
    { name: 'asks for 5 at 12.5% over target (worked example 2)', usage: 22.5, target: 5, pods: 4, want: 5 },
    { name: 'keeps 4 pods at exactly 10% over target (edge is inclusive)', usage: 22, target: 5, pods: 4, want: 4 },
    { name: 'asks for 5 just over 10% above target', usage: 22.001, target: 5, pods: 4, want: 5 },
    { name: 'keeps 10 pods at exactly 10% under target', usage: 9, target: 1, pods: 10, want: 10 },
    { name: 'asks for 9 just over 10% below target', usage: 8.999, target: 1, pods: 10, want: 9 },
    { name: 'asks for 3 well below target', usage: 11, target: 5, pods: 4, want: 3 },
    { name: 'asks for 0 when the queue is empty', usage: 0, target: 5, pods: 3, want: 0 },
    { name: 'ignores tolerance when no pod exists yet', usage: 5, target: 5, pods: 0, want: 1 },
    { name: 'reaches the fallback count for value 60 and target 10 (worked example 8)', usage: 60, target: 10, pods: 2, want: 6 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(averageValueProposal(toMilli(c.usage), toMilli(c.target), c.pods, tol).replicas, c.want);
    });
  }
});

describe('Value proposal: ceil(value / target x ready pods)', () => {
  const cases = [
    { name: 'asks for 8 for 250 / 100 with 3 ready pods (worked example 4)', usage: 250, spec: 3, ready: 3, want: 8 },
    { name: 'asks for 5 for 250 / 100 with 2 ready pods (worked example 4)', usage: 250, spec: 3, ready: 2, want: 5 },
    { name: 'keeps the current count within tolerance', usage: 109, spec: 3, ready: 1, want: 3 },
    { name: 'scales down when well below target', usage: 40, spec: 5, ready: 5, want: 2 },
    { name: 'asks for ceil(ratio) when the target has no replicas', usage: 250, spec: 0, ready: 0, want: 3 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = valueProposal(toMilli(c.usage), toMilli(100), c.spec, c.spec, c.ready, tol);
      assert.ok(!('error' in p));
      assert.equal(p.replicas, c.want);
    });
  }
  it('fails the metric when no pod matches at all', () => {
    const p = valueProposal(toMilli(250), toMilli(100), 3, 0, 0, tol);
    assert.ok('error' in p && /no pods/.test(p.error));
  });
});

describe('values as the HPA receives them from KEDA', () => {
  const cases = [
    { name: 'rounds to three decimals', value: 4.3499999, want: 4350 },
    { name: 'sends negative values as 0', value: -3, want: 0 },
    { name: 'sends NaN as 0', value: Number.NaN, want: 0 },
    { name: 'sends infinity as 0', value: Number.POSITIVE_INFINITY, want: 0 },
  ];
  for (const c of cases) it(c.name, () => assert.equal(toMilli(c.value), c.want));
  it('treats a per-direction tolerance separately for up and down', () => {
    assert.equal(withinTolerance(1.04, { up: 0.05, down: 0.2 }), true);
    assert.equal(withinTolerance(1.06, { up: 0.05, down: 0.2 }), false);
    assert.equal(withinTolerance(0.81, { up: 0.05, down: 0.2 }), true);
  });
});

describe('several metrics: the largest proposal wins, a failure never shrinks the target', () => {
  const m = (name: string, value: number | string, target = 5): MetricForReplicas =>
    typeof value === 'string'
      ? { metricName: name, metricType: 'AverageValue', target, error: value }
      : { metricName: name, metricType: 'AverageValue', target, valueMilli: toMilli(value) };
  const state = (spec: number) => ({ specReplicas: spec, statusReplicas: spec, readyReplicas: spec, now: 0 });
  const cases = [
    { name: 'takes the larger of two proposals', metrics: [m('s0', 10), m('s1', 40)], cur: 2, want: 8, winner: 's1' },
    { name: 'holds 6 when one metric failed and the other proposes 4 (worked example 7)', metrics: [m('s0', 20), m('s1', 'timeout')], cur: 6, want: 'hold' },
    { name: 'scales to 8 when one metric failed and the other proposes 8 (worked example 7)', metrics: [m('s0', 40), m('s1', 'timeout')], cur: 6, want: 8, winner: 's0' },
    { name: 'keeps the size when one metric failed and the other proposes the current size', metrics: [m('s0', 30), m('s1', 'timeout')], cur: 6, want: 6, winner: 's0' },
    { name: 'holds when every metric failed', metrics: [m('s0', 'down'), m('s1', 'down')], cur: 3, want: 'hold' },
    { name: 'fails a metric whose target is not positive', metrics: [m('s0', 10, 0)], cur: 3, want: 'hold' },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const v = replicasForMetrics(c.metrics, state(c.cur), tol);
      if (c.want === 'hold') assert.equal(v.kind, 'hold');
      else {
        assert.equal(v.kind, 'proposal');
        assert.equal(v.kind === 'proposal' && v.replicas, c.want);
        assert.equal(v.kind === 'proposal' && v.metricName, 'winner' in c ? c.winner : undefined);
      }
    });
  }
});
