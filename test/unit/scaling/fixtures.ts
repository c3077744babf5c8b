// Builders for decision inputs, so each table row states only what the case is about.

import type {
  Condition,
  DecideInput,
  Decision,
  HPABehavior,
  ScaledObjectSpec,
  ScaledObjectStatus,
  TargetState,
  TriggerMeasurement,
} from '../../../src/scaling/types.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../../src/scaling/decide.ts';

/** all times in the tables are seconds after this instant */
export const T0 = Date.parse('2025-03-01T10:00:00Z');

export function at(seconds: number): number {
  return T0 + seconds * 1000;
}

export function iso(seconds: number): string {
  return new Date(at(seconds)).toISOString().replace(/\.000Z$/, 'Z');
}

export interface MetricOptions {
  index?: number;
  name?: string;
  type?: string;
  metricType?: TriggerMeasurement['metricType'];
  target?: number;
  activationTarget?: number;
}

/** a successful read; active iff value > activationTarget, as the numeric scalers decide */
export function metric(value: number, o: MetricOptions = {}): TriggerMeasurement {
  const index = o.index ?? 0;
  const activationTarget = o.activationTarget ?? 0;
  return {
    index,
    type: o.type ?? 'metrics-api',
    metricName: o.name ?? `s${index}-metric-api-value`,
    metricType: o.metricType ?? 'AverageValue',
    target: o.target ?? 5,
    activationTarget,
    value,
    active: value > activationTarget,
  };
}

export function failed(error: string, o: MetricOptions = {}): TriggerMeasurement {
  const index = o.index ?? 0;
  return {
    index,
    type: o.type ?? 'metrics-api',
    metricName: o.name ?? `s${index}-metric-api-value`,
    metricType: o.metricType ?? 'AverageValue',
    target: o.target ?? 5,
    activationTarget: o.activationTarget ?? 0,
    error,
  };
}

export interface Case {
  spec?: Partial<ScaledObjectSpec>;
  behavior?: HPABehavior;
  annotations?: Record<string, string>;
  status?: ScaledObjectStatus;
  measurements?: TriggerMeasurement[];
  /** spec replicas; status and ready replicas follow unless given */
  replicas?: number;
  target?: Partial<TargetState>;
  /** seconds after T0 */
  now?: number;
  /** seconds after T0: the object's previous evaluation, as the pass works it out from the shard's Lease; default unknown */
  previous?: number;
  /** seconds after T0; default one hour before */
  created?: number;
  /** every HPA sync since the previous evaluation, as a run in period mode applies them */
  hpaCatchUp?: boolean;
}

export function input(c: Case = {}): DecideInput {
  const replicas = c.replicas ?? 1;
  const measurements = c.measurements ?? [metric(1)];
  const spec: ScaledObjectSpec = {
    scaleTargetRef: { name: 'app' },
    triggers: measurements.map((m) => ({ type: m.type, metadata: {} })),
    ...c.spec,
  };
  if (c.behavior) spec.advanced = { ...spec.advanced, horizontalPodAutoscalerConfig: { behavior: c.behavior } };
  return {
    name: 'orders',
    namespace: 'shop',
    spec,
    annotations: c.annotations ?? {},
    creationTimestamp: iso(c.created ?? -3600),
    status: c.status ?? {},
    measurements,
    target: {
      specReplicas: replicas,
      statusReplicas: replicas,
      readyReplicas: replicas,
      kind: 'apps/v1.Deployment',
      namespace: 'shop',
      name: 'app',
      ...c.target,
    },
    now: at(c.now ?? 0),
    previousEvaluation: c.previous === undefined ? undefined : at(c.previous),
    ...(c.hpaCatchUp ? { hpaCatchUp: true } : {}),
  };
}

export function run(c: Case = {}): Decision {
  return decide(input(c));
}

/** an object that has been running: KEDA's four conditions as a settled pass leaves them */
export function settled(o: { active: boolean; paused?: boolean; fallback?: boolean }): ScaledObjectStatus {
  const conditions: Condition[] = [
    {
      type: 'Ready',
      status: 'True',
      reason: 'ScaledObjectReady',
      message: 'ScaledObject is defined correctly and is ready for scaling',
    },
    o.active
      ? { type: 'Active', status: 'True', reason: 'ScalerActive', message: 'Scaling is performed because triggers are active' }
      : {
          type: 'Active',
          status: 'False',
          reason: 'ScalerNotActive',
          message: 'Scaling is not performed because triggers are not active',
        },
    o.fallback
      ? {
          type: 'Fallback',
          status: 'True',
          reason: 'FallbackExists',
          message: 'At least one trigger is falling back on this scaled object',
        }
      : {
          type: 'Fallback',
          status: 'False',
          reason: 'NoFallbackFound',
          message: 'No fallbacks are active on this scaled object',
        },
    o.paused
      ? { type: 'Paused', status: 'True', reason: 'ScaledObjectPaused', message: 'ScaledObject is paused' }
      : { type: 'Paused', status: 'False' },
  ];
  return { conditions };
}

export function condition(d: Decision, type: string): Condition | undefined {
  return d.status.conditions?.find((c) => c.type === type);
}

export function eventReasons(d: Decision): string[] {
  return d.events.map((e) => e.reason);
}

/**
 * feeds each decision's status and replicas into the next pass, like consecutive CronJob runs; each
 * pass knows the one before as the object's previous evaluation (it is due every pass), as the Lease tells it
 */
export function passes(first: Case, steps: Array<Partial<Case> & { now: number }>): Decision[] {
  const results: Decision[] = [];
  let status = first.status ?? {};
  let replicas = first.replicas ?? 1;
  let previous = first.previous;
  for (const step of steps) {
    const d = run({ ...first, previous, ...step, status, replicas: step.replicas ?? replicas });
    results.push(d);
    status = d.status;
    replicas = d.replicas;
    previous = step.now;
  }
  return results;
}

export interface Want {
  replicas?: number;
  reason?: RegExp;
  /** the exact list of event reasons, in order */
  events?: string[];
  /** 'Status/Reason', e.g. 'False/ScalerCooldown' */
  ready?: string;
  active?: string;
  fallback?: string;
  paused?: string;
}

function conditionText(d: Decision, type: string): string | undefined {
  const c = condition(d, type);
  return c && `${c.status}/${c.reason ?? ''}`;
}

export function check(d: Decision, want: Want): void {
  const got: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  const compare = (key: string, actual: unknown, wanted: unknown) => {
    if (wanted === undefined) return;
    got[key] = actual;
    expected[key] = wanted;
  };
  compare('replicas', d.replicas, want.replicas);
  compare('events', eventReasons(d), want.events);
  compare('ready', conditionText(d, 'Ready'), want.ready);
  compare('active', conditionText(d, 'Active'), want.active);
  compare('fallback', conditionText(d, 'Fallback'), want.fallback);
  compare('paused', conditionText(d, 'Paused'), want.paused);
  assert.deepEqual(got, expected, `reason was: ${d.reason}`);
  if (want.reason) assert.match(d.reason, want.reason);
}

/** One row of a decision table: the case, what it must decide, and any further check on the decision. */
export interface Row {
  name: string;
  c: Case;
  want: Want;
  also?: (d: Decision) => void;
}

/** A describe() of decision rows, each an it() that decides its case and checks it. */
export function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const r of rows) {
      it(r.name, () => {
        const d = run(r.c);
        check(d, r.want);
        r.also?.(d);
      });
    }
  });
}
