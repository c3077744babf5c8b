import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cooldownVerdict, kedaStep } from '../../../src/scaling/activation.ts';
import type { Activity, KedaStepInput } from '../../../src/scaling/activation.ts';
import { resolveSpec } from '../../../src/scaling/defaults.ts';
import type { ScaledObjectSpec } from '../../../src/scaling/types.ts';
import { at } from './fixtures.ts';

describe('cooldown: scale-in only strictly after lastActiveTime + cooldownPeriod', () => {
  const cases = [
    { name: 'not at 299 s of a 300 s cooldown', last: -299, want: false },
    { name: 'not at exactly 300 s', last: -300, want: false },
    { name: 'at 301 s', last: -301, want: true },
    { name: 'never active: not at exactly creation + initialCooldownPeriod', last: undefined, created: -60, initial: 60, want: false },
    { name: 'never active: right after creation + initialCooldownPeriod', last: undefined, created: -61, initial: 60, want: true },
    { name: 'never active with the default initialCooldownPeriod 0: at once', last: undefined, created: -1, initial: 0, want: true },
    { name: 'a cooldown of 0 allows scale-in one second after activity', last: -1, cooldown: 0, want: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = cooldownVerdict({
        lastActiveMs: c.last === undefined ? undefined : at(c.last),
        creationMs: at(c.created ?? -3600),
        cooldownS: c.cooldown ?? 300,
        initialCooldownS: c.initial ?? 0,
        now: at(0),
      });
      assert.equal(v.elapsed, c.want);
    });
  }
  it('says how long the cooldown still runs', () => {
    const v = cooldownVerdict({ lastActiveMs: at(-180), creationMs: at(-3600), cooldownS: 300, initialCooldownS: 0, now: at(0) });
    assert.equal(v.why, 'cooldown: inactive since 2025-03-01T09:57:00Z, 120s left');
  });
});

describe("KEDA's own moves (RequestScale decision table)", () => {
  const target = { specReplicas: 0, statusReplicas: 0, readyReplicas: 0, kind: 'apps/v1.Deployment', namespace: 'shop', name: 'app' };
  const act = (o: Partial<Activity> = {}): Activity => ({ active: false, forced: false, isError: false, activeMetricNames: [], ...o });
  const on = act({ active: true, activeMetricNames: ['s0-redis-jobs'] });
  const step = (cur: number, spec: Partial<ScaledObjectSpec>, activity: Activity, o: Partial<KedaStepInput> = {}) =>
    kedaStep({
      currentReplicas: cur,
      spec: resolveSpec({ scaleTargetRef: { name: 'app' }, triggers: [], ...spec }),
      fallback: spec.fallback,
      activity,
      pausedScaleIn: false,
      pausedScaleOut: false,
      lastActiveMs: at(-1000),
      creationMs: at(-3600),
      target,
      now: at(0),
      ...o,
    });
  const cases = [
    { name: 'activates 0 -> 1 when a trigger is active', s: step(0, {}, on), replicas: 1, active: 'ScalerActive' },
    { name: 'activates 0 -> minReplicaCount 3', s: step(0, { minReplicaCount: 3 }, on), replicas: 3, active: 'ScalerActive' },
    { name: 'activates from idle 0 to min 2', s: step(0, { idleReplicaCount: 0, minReplicaCount: 2 }, on), replicas: 2, active: 'ScalerActive' },
    { name: 'activates from 1 below min 3 when idle is set', s: step(1, { idleReplicaCount: 0, minReplicaCount: 3 }, on), replicas: 3, active: 'ScalerActive' },
    { name: 'activates when forced by annotation', s: step(0, {}, act({ forced: true })), replicas: 1, active: 'ScalerActive' },
    { name: 'does not activate while scale-out is paused', s: step(0, {}, on, { pausedScaleOut: true }), replicas: undefined, active: 'ScalerActive' },
    { name: 'leaves an active target at 3 to the replica formula', s: step(3, {}, on), replicas: undefined, active: 'ScalerActive' },
    { name: 'deactivates 3 -> 0 after cooldown', s: step(3, {}, act()), replicas: 0, active: 'ScalerNotActive' },
    { name: 'deactivates 3 -> idle 1 after cooldown with min 2', s: step(3, { idleReplicaCount: 1, minReplicaCount: 2 }, act()), replicas: 1, active: 'ScalerNotActive' },
    { name: 'cools down instead of deactivating within cooldown', s: step(3, {}, act(), { lastActiveMs: at(-100) }), replicas: undefined, active: 'ScalerCooldown' },
    { name: 'never scales in while scale-in is paused', s: step(3, {}, act(), { pausedScaleIn: true }), replicas: undefined, active: 'ScalerNotActive' },
    { name: 'never scales in on a trigger error without fallback', s: step(3, {}, act({ isError: true })), replicas: undefined, active: 'ScalerNotActive' },
    { name: 'never scales in on a trigger error with fallback.replicas 6', s: step(3, { fallback: { failureThreshold: 3, replicas: 6 } }, act({ isError: true })), replicas: undefined, active: 'ScalerNotActive' },
    { name: 'scales in on a trigger error when fallback.replicas is 0 (KEDA quirk)', s: step(3, { fallback: { failureThreshold: 3, replicas: 0 } }, act({ isError: true })), replicas: 0, active: 'ScalerNotActive' },
    { name: 'raises an inactive target below minReplicaCount to it', s: step(1, { minReplicaCount: 3 }, act()), replicas: 3, active: 'ScalerNotActive' },
    { name: 'leaves an inactive target at minReplicaCount 2 alone', s: step(2, { minReplicaCount: 2 }, act()), replicas: undefined, active: 'ScalerNotActive' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(c.s.replicas, c.replicas);
      assert.equal(c.s.active.reason, c.active);
    });
  }
  it('marks Ready False/TriggerError for an inactive object with a failing trigger and no fallback', () => {
    assert.equal(step(3, {}, act({ isError: true })).ready?.reason, 'TriggerError');
  });
  it('marks Ready Unknown/PartialTriggerError for an active object with a failing trigger', () => {
    assert.equal(step(3, {}, act({ active: true, isError: true, activeMetricNames: ['s0'] })).ready?.reason, 'PartialTriggerError');
  });
});
