// What a kind of scaled resource supplies to the pass, and what the pass gives it. The pass (../pass.ts)
// loads every kind, decides which objects are due, measures, records and reports the same way for all;
// a kind says how to list its objects, where its triggers' env comes from, how to decide and apply,
// and which names its telemetry and logs use. ScaledObject: ./scaledobject.ts; ScaledJob: ./scaledjob.ts.
import type { KubeRest } from '../kube/rest.ts';
import type { ScaledKind, ScaledResource } from '../kube/resources.ts';
import type { Logger } from '../log.ts';
import type { MeasureDeps, TriggerReport } from '../measure.ts';
import type { DecisionEvent, TriggerSpec } from '../scaling/types.ts';
import type { JobDeletion } from '../scaling/scaledjob.ts';
import type { Recorder } from '../telemetry/recorder.ts';
import type { ResourceType } from '../telemetry/instruments.ts';

export type AnyScaled = ScaledResource<ScaledKind, unknown, unknown>;

/** What a pass knows and shares with every kind. */
export interface PassContext {
  rest: KubeRest;
  rec: Recorder;
  log: Logger;
  dryRun: boolean;
  /** events' reportingInstance */
  instance: string;
  now: () => number;
  /** aborts at the pass deadline */
  deadline: AbortSignal;
  measuring: MeasureDeps;
  /** a write starts only while this run holds the shard's lease; otherwise it rejects with LeaseLostError */
  write<T>(w: () => Promise<T>): Promise<T>;
}

export class LeaseLostError extends Error {}

/** A write starts only while this run holds the shard's lease; otherwise the object fails with this error. */
export function guardWrite<T>(leaseLost: AbortSignal | undefined, write: () => Promise<T>): Promise<T> {
  if (leaseLost?.aborted) return Promise.reject(new LeaseLostError('shard lease lost: not writing'));
  return write();
}

/** A ScaledJob's Jobs in this pass: counted, decided, done (in a dry run, what would be done). */
export interface JobsReport {
  /** unfinished Jobs it owns, and of them those whose pods have not started */
  running: number;
  pending: number;
  /** Jobs the decision creates, and those that were created */
  toCreate: number;
  created: string[];
  /** Jobs the decision deletes (rollout, history), and those that were deleted */
  toDelete: Pick<JobDeletion, 'name' | 'why'>[];
  deleted: string[];
}

export interface ObjectReport {
  kind: ScaledKind;
  namespace: string;
  name: string;
  outcome: 'evaluated' | 'skipped' | 'failed';
  /** why skipped, or what failed */
  detail?: string;
  target?: string;
  triggers: TriggerReport[];
  /** a ScaledObject's replicas */
  current?: number;
  desired?: number;
  /** a ScaledJob's Jobs */
  jobs?: JobsReport;
  active?: boolean;
  paused?: boolean;
  reason?: string;
  scaled: boolean;
  statusWritten: boolean;
  /** a ScaledObject's HPA history annotation was written (../scaling/hpa-history.ts) */
  historyWritten?: boolean;
  events: DecisionEvent[];
  loopLatencyMs?: number;
}

/** When an object is decided: as of its pass, like one poll of KEDA's loop. */
export interface EvaluationTime {
  /** this pass's time (ms), which the shard's Lease records */
  now: number;
  /**
   * the object's previous evaluation (ms): the latest earlier pass in which it was due, never earlier
   * than the real one; undefined when the shard has no earlier pass on record
   */
  previous?: number;
  /** apply the HPA syncs that fell since `previous` (a run in period mode; scaling/hpa-catch-up.ts) */
  hpaCatchUp?: boolean;
}

/** One kind's work in one pass: state shared by its objects (a resolver, one LIST per namespace). */
export interface KindRun<T extends AnyScaled> {
  /** what one request serves for many due objects, before any is evaluated */
  prepare(due: readonly T[]): Promise<void>;
  /** decide and apply for one due object; throws only for what the pass reports as a failure */
  evaluate(obj: T, report: ObjectReport, at: EvaluationTime): Promise<void>;
}

export interface Kind<T extends AnyScaled> {
  kind: ScaledKind;
  /** keda.resource.totals `type` */
  resourceType: ResourceType;
  /** the key naming the object in log lines, as KEDA's logs do (`scaledObject`, `scaledJob`) */
  logKey: string;
  list(rest: KubeRest, namespaces: string[], labelSelector?: string): Promise<{ items: T[]; served: boolean }>;
  /** seconds; read before the spec is checked, so a broken spec still has one */
  pollingInterval(obj: T): number;
  /** for keda.trigger.totals; [] when the spec has none or is broken */
  triggers(obj: T): readonly Pick<TriggerSpec, 'type'>[];
  start(ctx: PassContext): KindRun<T>;
}
