// Builders for ScaledJob decision inputs: each table row states only what its case is about.

import type { TriggerMeasurement } from '../../../src/scaling/types.ts';
import type { JobSummary, PodSummary, ScaledJobDecideInput, ScaledJobSpec, ScaledJobStatus } from '../../../src/scaling/scaledjob.ts';
import { at, iso } from './fixtures.ts';

export { at, iso };

export interface Reading {
  index?: number;
  type?: string;
  name?: string;
  target?: number;
  /** default: value > 0 */
  active?: boolean;
  error?: string;
}

/** one trigger's reading: its queue `value` against `target` (default 1) */
export function reading(value: number, o: Reading = {}): TriggerMeasurement {
  const index = o.index ?? 0;
  const type = o.type ?? 'rabbitmq';
  return {
    index,
    type,
    metricName: o.name ?? `s${index}-${type}-jobs`,
    metricType: 'AverageValue',
    target: o.target ?? 1,
    activationTarget: 0,
    ...(o.error !== undefined ? { error: o.error } : { value, active: o.active ?? value > 0 }),
  };
}

export function failedReading(error: string, o: Reading = {}): TriggerMeasurement {
  return reading(0, { ...o, error });
}

const RUNNING: PodSummary = { phase: 'Running' };
const WAITING: PodSummary = { phase: 'Pending' };

let serial = 0;
/** an unfinished Job of generation 1 whose pod runs (or waits to be scheduled, when pending) */
export function runningJob(o: Partial<JobSummary> & { pending?: boolean } = {}): JobSummary {
  const { pending, ...rest } = o;
  return { name: `orders-r${++serial}`, creationTimestamp: iso(-600), generation: '1', pods: [pending ? WAITING : RUNNING], ...rest };
}

/** a Job that finished at `seconds` after T0 */
export function finishedJob(as: 'Complete' | 'Failed', seconds: number, o: Partial<JobSummary> = {}): JobSummary {
  return {
    name: `orders-${as === 'Complete' ? 'c' : 'f'}${seconds}`,
    creationTimestamp: iso(seconds - 60),
    generation: '1',
    ...(as === 'Complete' ? { completionTime: iso(seconds) } : {}),
    conditions: [{ type: as, status: 'True', lastTransitionTime: iso(seconds) }],
    ...o,
  };
}

export const TEMPLATE = {
  template: { spec: { containers: [{ name: 'worker', image: 'worker:1' }] } },
};

export interface JobCase {
  spec?: Partial<ScaledJobSpec>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  status?: ScaledJobStatus;
  measurements?: TriggerMeasurement[];
  jobs?: JobSummary[];
  generation?: number;
  /** seconds after T0 */
  now?: number;
  /** seconds after T0: the ScaledJob's previous evaluation, as the pass works it out from the shard's Lease; default unknown */
  previous?: number;
}

export function jobInput(c: JobCase = {}): ScaledJobDecideInput {
  const measurements = c.measurements ?? [reading(0)];
  return {
    name: 'orders',
    namespace: 'shop',
    uid: 'uid-orders',
    generation: c.generation ?? 1,
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    spec: {
      jobTargetRef: structuredClone(TEMPLATE),
      triggers: measurements.map((m) => ({ type: m.type, metadata: {} })),
      ...c.spec,
    },
    status: c.status ?? {},
    measurements,
    jobs: c.jobs ?? [],
    now: at(c.now ?? 0),
    previousEvaluation: c.previous === undefined ? undefined : at(c.previous),
    version: '0.1.0',
  };
}

/** KEDA's conditions as a settled pass leaves them */
export function settledJob(o: { active: boolean; paused?: boolean; lastActiveTime?: string }): ScaledJobStatus {
  return {
    conditions: [
      { type: 'Ready', status: 'True', reason: 'ScaledJobReady', message: 'ScaledJob is defined correctly and is ready for scaling' },
      o.active
        ? { type: 'Active', status: 'True', reason: 'ScalerActive', message: 'Scaling is performed because triggers are active' }
        : { type: 'Active', status: 'False', reason: 'ScalerNotActive', message: 'Scaling is not performed because triggers are not active' },
      { type: 'Fallback', status: 'Unknown' },
      o.paused
        ? { type: 'Paused', status: 'True', reason: 'ScaledJobPaused', message: 'ScaledJob is paused' }
        : { type: 'Paused', status: 'False' },
    ],
    ...(o.lastActiveTime ? { lastActiveTime: o.lastActiveTime } : {}),
  };
}
