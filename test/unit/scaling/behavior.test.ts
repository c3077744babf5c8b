import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkBehavior,
  effectiveBehavior,
  normalizeLegacy,
  normalizeWithBehavior,
  parseTolerance,
  scaleDownLimit,
  scaleUpLimit,
} from '../../../src/scaling/behavior.ts';
import type { EffectiveBehavior, ScalingRules } from '../../../src/scaling/behavior.ts';
import type { HPABehavior, Recommendation, ScaleChange } from '../../../src/scaling/types.ts';
import { at, iso } from './fixtures.ts';

const defaults = effectiveBehavior({}, false, false) as EffectiveBehavior;
const rules = (over: Partial<ScalingRules>, base = defaults.scaleUp): ScalingRules => ({ ...base, ...over });
const ev = (...entries: Array<[number, number]>): ScaleChange[] => entries.map(([s, change]) => ({ time: iso(s), change }));
const h = (...entries: Array<[number, number]>): Recommendation[] => entries.map(([s, replicas]) => ({ time: iso(s), replicas }));

describe('behavior defaults as the autoscaling/v2 API fills them', () => {
  it('uses the legacy normalisation when there is no behavior and no pause annotation', () => {
    assert.equal(effectiveBehavior(undefined, false, false), undefined);
  });
  it('fills scaleUp with window 0, Max, Pods 4/15s and Percent 100/15s', () => {
    assert.deepEqual(defaults.scaleUp, {
      windowS: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
      tolerance: 0.1,
    });
  });
  it('fills scaleDown with window 300, Max and Percent 100/15s', () => {
    assert.deepEqual(defaults.scaleDown, {
      windowS: 300,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      tolerance: 0.1,
    });
  });
  it('lets explicit policies replace the defaults entirely', () => {
    const b = effectiveBehavior({ scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } }, false, false);
    assert.deepEqual(b?.scaleUp.policies, [{ type: 'Pods', value: 1, periodSeconds: 60 }]);
  });
  it('turns paused-scale-in into a disabled scale-down on top of the defaults', () => {
    const b = effectiveBehavior(undefined, true, false);
    assert.equal(b?.scaleDown.selectPolicy, 'Disabled');
    assert.equal(b?.scaleUp.selectPolicy, 'Max');
  });
});

describe('scale-up rate limits', () => {
  const cases = [
    { name: 'default policies from 3 allow 7 (Pods 4 beats Percent 100) (worked example 6)', cur: 3, r: rules({}), events: [], want: 7 },
    { name: 'selectPolicy Min picks the smaller change: 6', cur: 3, r: rules({ selectPolicy: 'Min' }), events: [], want: 6 },
    { name: 'a 1 -> 3 scale-up 10 s ago counts against the period: 5 (worked example 6)', cur: 3, r: rules({}), events: ev([-10, 2]), want: 5 },
    { name: 'a scale-up exactly one period ago no longer counts', cur: 3, r: rules({}), events: ev([-15, 2]), want: 7 },
    { name: 'a scale-down inside the period gives its replicas back to the budget', cur: 3, r: rules({}), events: ev([-5, -2]), want: 10 },
    { name: 'selectPolicy Disabled allows no growth', cur: 3, r: rules({ selectPolicy: 'Disabled' }), events: [], want: 3 },
    { name: 'Percent rounds up in floating point exactly as the HPA does (50 +10% -> 56)', cur: 50, r: rules({ policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] }), events: [], want: 56 },
  ] as const;
  for (const c of cases) it(c.name, () => assert.equal(scaleUpLimit(c.cur, [...c.events], c.r, at(0)).replicas, c.want));
});

describe('scale-down rate limits', () => {
  const policies = [
    { type: 'Percent', value: 50, periodSeconds: 60 },
    { type: 'Pods', value: 2, periodSeconds: 60 },
  ] as const;
  const cases = [
    { name: 'Percent 50 and Pods 2 with Max allow 10 -> 5 (worked example 5)', cur: 10, r: rules({ policies: [...policies] }, defaults.scaleDown), events: [], want: 5 },
    { name: 'Percent 50 and Pods 2 with Min allow 10 -> 8 (worked example 5)', cur: 10, r: rules({ policies: [...policies], selectPolicy: 'Min' }, defaults.scaleDown), events: [], want: 8 },
    { name: 'the default Percent 100 allows everything down', cur: 7, r: defaults.scaleDown, events: [], want: 0 },
    { name: 'Percent 50 from 7 allows 3: the count is rounded down as the HPA does', cur: 7, r: rules({ policies: [policies[0]] }, defaults.scaleDown), events: [], want: 3 },
    { name: 'a halving 30 s ago uses up the Percent 50 budget of the period', cur: 5, r: rules({ policies: [policies[0]] }, defaults.scaleDown), events: ev([-30, -5]), want: 5 },
    { name: 'selectPolicy Disabled allows no shrinking', cur: 5, r: rules({ selectPolicy: 'Disabled' }, defaults.scaleDown), events: [], want: 5 },
  ] as const;
  for (const c of cases) it(c.name, () => assert.equal(scaleDownLimit(c.cur, [...c.events], c.r, at(0)).replicas, c.want));
});

describe('normalisation with behavior', () => {
  const b = (x: HPABehavior) => effectiveBehavior(x, false, false) as EffectiveBehavior;
  const base = { minReplicas: 1, maxReplicas: 100, history: [] as Recommendation[], scaleEvents: undefined, now: at(0) };
  const cases = [
    { name: 'scales 3 -> 7 and names the binding policy Pods/4 per 15s', args: { currentReplicas: 3, proposal: 20 }, behavior: b({}), want: 7, note: /scale-up limited by policy Pods\/4 per 15s/ },
    { name: 'scales 10 -> 5 under Percent 50 per 60s', args: { currentReplicas: 10, proposal: 1 }, behavior: b({ scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }, { type: 'Pods', value: 2, periodSeconds: 60 }] } }), want: 5, note: /Percent\/50 per 60s/ },
    { name: 'holds 8 while a higher recommendation is in the 300 s scale-down window', args: { currentReplicas: 8, proposal: 3, history: h([-100, 8], [-50, 5]) }, behavior: b({}), want: 8, note: /scale-down stabilized at 8/ },
    { name: 'steps down to the highest recommendation still in the window', args: { currentReplicas: 8, proposal: 3, history: h([-400, 8], [-350, 6], [-100, 5]) }, behavior: b({}), want: 6, note: /stabilized at 6/ },
    { name: 'holds a scale-up until the lower recommendation leaves the scale-up window', args: { currentReplicas: 2, proposal: 6, history: h([-200, 2]) }, behavior: b({ scaleUp: { stabilizationWindowSeconds: 60 } }), want: 2, note: /scale-up stabilized at 2/ },
    { name: 'scales up once the whole scale-up window recommended more', args: { currentReplicas: 2, proposal: 6, history: h([-200, 2], [-70, 6]) }, behavior: b({ scaleUp: { stabilizationWindowSeconds: 60 } }), want: 6, note: undefined },
    { name: 'stops at maxReplicaCount when the policies would allow more', args: { currentReplicas: 3, proposal: 20, maxReplicas: 5 }, behavior: b({}), want: 5, note: /limited by maxReplicaCount 5/ },
    { name: 'says which annotation disabled the scale-up', args: { currentReplicas: 3, proposal: 20 }, behavior: effectiveBehavior(undefined, false, true) as EffectiveBehavior, want: 3, note: /scale-up disabled \(autoscaling.keda.sh\/paused-scale-out\)/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const n = normalizeWithBehavior({ ...base, ...c.args }, c.behavior);
      assert.equal(n.replicas, c.want);
      if (c.note) assert.match(n.notes.join('; '), c.note);
      else assert.deepEqual(n.notes, []);
    });
  }
});

describe('normalisation without behavior (legacy)', () => {
  const base = { minReplicas: 1, maxReplicas: 100, history: [] as Recommendation[], scaleEvents: undefined, now: at(0) };
  const cases = [
    { name: 'limits 2 -> 5 to 4 (worked example 1, first sync)', args: { currentReplicas: 2, proposal: 5 }, want: 4 },
    { name: 'allows 4 -> 5 on the next sync (worked example 1)', args: { currentReplicas: 4, proposal: 5 }, want: 5 },
    { name: 'allows at most twice the current count from 10', args: { currentReplicas: 10, proposal: 30 }, want: 20 },
    { name: 'stops at maxReplicaCount below twice the current count', args: { currentReplicas: 10, proposal: 30, maxReplicas: 12 }, want: 12 },
    { name: 'raises a proposal of 0 to the floor of 1', args: { currentReplicas: 3, proposal: 0 }, want: 1 },
    { name: 'raises a proposal below minReplicaCount to it', args: { currentReplicas: 4, proposal: 1, minReplicas: 3 }, want: 3 },
    { name: 'holds at 8 over recent 8, 6, 5 for a proposal of 3 (worked example 3)', args: { currentReplicas: 8, proposal: 3, history: h([-200, 8], [-140, 6], [-80, 5]) }, want: 8 },
    { name: 'drops to 3 once 8, 6 and 5 all left the window (worked example 3)', args: { currentReplicas: 8, proposal: 3, history: h([-700, 8], [-640, 6], [-580, 5], [-300, 3]) }, want: 3 },
  ];
  for (const c of cases) it(c.name, () => assert.equal(normalizeLegacy({ ...base, ...c.args }).replicas, c.want));
});

describe('behavior the API server would refuse', () => {
  const cases = [
    { name: 'an empty policy list', behavior: { scaleUp: { policies: [] } }, want: /scaleUp.policies: must specify at least one policy/ },
    { name: 'a period of 0 s', behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 0 }] } }, want: /periodSeconds: must be an integer from 1 to 1800/ },
    { name: 'a period over 1800 s', behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 1801 }] } }, want: /periodSeconds/ },
    { name: 'a policy value of 0', behavior: { scaleUp: { policies: [{ type: 'Percent', value: 0, periodSeconds: 15 }] } }, want: /value: must be a positive integer/ },
    { name: 'a window over 3600 s', behavior: { scaleDown: { stabilizationWindowSeconds: 3601 } }, want: /stabilizationWindowSeconds/ },
    { name: 'a tolerance that is no quantity', behavior: { scaleUp: { tolerance: 'ten percent' } }, want: /tolerance/ },
    { name: 'nothing in a valid behavior', behavior: { scaleUp: { stabilizationWindowSeconds: 60, tolerance: '50m' } }, want: undefined },
  ] as const;
  for (const c of cases) {
    it(`refuses ${c.name}`.replace('refuses nothing in', 'accepts'), () => {
      const problem = checkBehavior(c.behavior as HPABehavior);
      if (c.want) assert.match(problem ?? '', c.want);
      else assert.equal(problem, undefined);
    });
  }
  it('reads tolerance quantities 0.05, 50m and 5e-2 alike', () => {
    assert.deepEqual([parseTolerance('0.05'), parseTolerance('50m'), parseTolerance('5e-2')], [0.05, 0.05, 0.05]);
  });
});
