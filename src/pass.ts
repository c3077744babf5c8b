// One pass, as the data flows: load -> due -> measure -> decide -> apply -> report, over every kind of
// scaled resource (ScaledObject, ScaledJob). Loading, due-ness, measuring, authentication, telemetry
// and reporting are the same for every kind; deciding and applying are the kind's (src/kinds/).
// Errors are values on the object they concern; one broken object never stops the others.
import type { KubeRest } from './kube/rest.ts';
import { isDue, nextTick, ownedBy, previousEvaluation, type Due } from './scaling/due.ts';
import { PodLister } from './kube/pods.ts';
import { PodMetricsReader } from './kube/pod-metrics.ts';
import type { Scaler } from './scalers/types.ts';
import { ClientRegistry } from './scalers/clients.ts';
import type { PassOutcome, Recorder } from './telemetry/recorder.ts';
import type { Logger } from './log.ts';
import { AuthCache } from './auth/resolve.ts';
import { pool, Semaphore } from './limit.ts';
import { message, type MeasureDeps, type TriggerReport } from './measure.ts';
import type { ReadinessTiming } from './scaling/resource-metrics.ts';
import { guardWrite, type AnyScaled, type EvaluationTime, type Kind, type KindRun, type ObjectReport, type PassContext } from './kinds/kind.ts';
import { refOf } from './kinds/shared.ts';
import { scaledObjects } from './kinds/scaledobject.ts';
import { scaledJobs } from './kinds/scaledjob.ts';

export type { TriggerReport, ObjectReport };
export type { JobsReport } from './kinds/kind.ts';

/** Every kind of scaled resource a pass handles, in the order they are reported. */
const KINDS: readonly Kind<AnyScaled>[] = [scaledObjects as unknown as Kind<AnyScaled>, scaledJobs as unknown as Kind<AnyScaled>];

export interface PassOptions {
  namespaces: string[];
  labelSelector?: string;
  concurrency: number;
  triggerTimeoutMs: number;
  /** the HPA's cpu initialization period and initial readiness delay, for cpu triggers */
  readinessTiming: ReadinessTiming;
  passDeadlineMs: number;
  dryRun: boolean;
  shardIndex: number;
  shardCount: number;
  /** scheduled start of this run (ms) for keda.internal.scale.loop.latency */
  scheduledStart: number;
  /**
   * this pass's time (ms): every object is due, and decided, as of it (as of one poll of KEDA's loop);
   * the shard's Lease records it. Default: when runPass starts.
   */
  start?: number;
  /** start of the shard's previous pass (ms), undefined on the first */
  lastPass?: number;
  /** the shard's earlier passes (ms), from its Lease: when each object was evaluated before */
  passes?: readonly number[];
  /** events' reportingInstance */
  instance: string;
  /** aborted when the shard's lease is lost: from then on no write starts (another run may be writing) */
  leaseLost?: AbortSignal;
  /**
   * each ScaledObject evaluation applies the HPA's 15 s syncs that fell since its previous one, and one
   * right after an activation (a run in period mode evaluates at pollingInterval, not at every sync)
   */
  hpaCatchUp?: boolean;
  /** aborted when the run is told to stop (SIGTERM): from then on no object starts its evaluation */
  stop?: AbortSignal;
  /** what the deadline is, for the objects it leaves unevaluated; default `pass deadline of <passDeadlineMs> ms` */
  deadlineName?: string;
}

export interface PassReport {
  start: number;
  durationMs: number;
  objects: ObjectReport[];
  /** a kind whose LIST failed: its objects were not evaluated (the others were); the run exits 1 */
  listErrors: { kind: string; error: string }[];
  requests: Record<string, number>;
  denied: string[];
  /** the earliest pollingInterval tick after this pass of any object in scope (ms); undefined when there is none */
  nextTick?: number;
}

/** How a pass that ran ended (mode period: a round); anything but success exits 1. */
export function passOutcome(r: { failedObjects: number; listErrors: number; leaseLost: boolean }): PassOutcome {
  if (r.leaseLost) return 'lease_lost';
  return r.failedObjects > 0 || r.listErrors > 0 ? 'partial_failure' : 'success';
}

interface Loaded {
  kind: Kind<AnyScaled>;
  run: KindRun<AnyScaled>;
  objects: { obj: AnyScaled; due: Due; at: EvaluationTime; next: number }[];
}

export async function runPass(rest: KubeRest, rec: Recorder, log: Logger, o: PassOptions, now: () => number = Date.now): Promise<PassReport> {
  const start = o.start ?? now();
  // requests are reported per pass, without what the run did before (lease, Job lookup)
  const before = { ...rest.counts };
  const deniedBefore = rest.denied.length;
  const deadline = o.stop ? AbortSignal.any([AbortSignal.timeout(o.passDeadlineMs), o.stop]) : AbortSignal.timeout(o.passDeadlineMs);
  const scalers: Scaler[] = [];
  // backend connections shared by the triggers that name the same server: a few per endpoint, not one per trigger
  const clients = new ClientRegistry();
  // the pods of scale targets (Value targets, cpu/memory triggers): one LIST per namespace and selector
  const pods = new PodLister(rest, deadline);
  const measuring: MeasureDeps = {
    rest, auth: new AuthCache(rest), rec, slots: new Semaphore(o.concurrency), deadline, triggerTimeoutMs: o.triggerTimeoutMs, readinessTiming: o.readinessTiming,
    remainingMs: () => o.passDeadlineMs - (now() - start), now, scalers, clients, pods, podMetrics: new PodMetricsReader(rest, deadline),
  };
  const ctx: PassContext = {
    rest, rec, log, dryRun: o.dryRun, instance: o.instance, now, deadline, measuring,
    write: (w) => guardWrite(o.leaseLost, w),
  };

  try {
    const listErrors: PassReport['listErrors'] = [];
    const loaded = await Promise.all(KINDS.map((k) => load(k, ctx, o, start, listErrors)));
    reportTotals(rec, loaded);
    // one request for many due objects (a LIST per namespace) before any object is evaluated
    await Promise.all(loaded.map((l) => l.run.prepare(l.objects.filter((x) => x.due.due).map((x) => x.obj))));
    const work = loaded.flatMap((l) => l.objects.map((x) => ({ ...x, kind: l.kind, run: l.run })));
    // objects are bounded too (each holds its target, status and events in flight); triggers by `slots`
    const objects = await pool(work, o.concurrency, (w) => evaluate(ctx, o, w.kind, w.run, w.obj, w.due, w.at));
    reportOutcomes(rec, loaded, objects);
    const requests = Object.fromEntries(Object.entries(rest.counts).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    const next = Math.min(...loaded.flatMap((l) => l.objects.map((x) => x.next)));
    return { start, durationMs: now() - start, objects, listErrors, requests, denied: rest.denied.slice(deniedBefore), ...(Number.isFinite(next) ? { nextTick: next } : {}) };
  } finally {
    await Promise.allSettled(scalers.map((s) => s.close()));
    await clients.closeAll();
  }
}

/** One kind's objects in scope and owned by this shard, each with its due-ness. A failed LIST fails only this kind. */
async function load(kind: Kind<AnyScaled>, ctx: PassContext, o: PassOptions, start: number, listErrors: PassReport['listErrors']): Promise<Loaded> {
  let items: AnyScaled[] = [];
  try {
    const listed = await kind.list(ctx.rest, o.namespaces, o.labelSelector);
    if (!listed.served) ctx.log.info(`${kind.kind}s are not served by this cluster (CRD not installed): none evaluated`, { kind: kind.kind });
    items = listed.items;
  } catch (e) {
    listErrors.push({ kind: kind.kind, error: message(e) });
    ctx.log.error(`could not list ${kind.kind}s: none of them evaluated in this pass`, { kind: kind.kind, error: message(e) });
  }
  const owned = items.filter((x) => ownedBy(x.metadata.uid, o.shardIndex, o.shardCount));
  // a dry run has no Lease, so no lastPass: its (first) pass shows everything as due
  const objects = owned.map((obj) => {
    const interval = kind.pollingInterval(obj);
    return {
      obj,
      next: nextTick(obj.metadata.uid, interval, start),
      due: isDue(obj.metadata.uid, interval, o.lastPass, start),
      at: { now: start, previous: previousEvaluation(obj.metadata.uid, interval, o.passes ?? [], start), hpaCatchUp: o.hpaCatchUp },
    };
  });
  return { kind, run: kind.start(ctx), objects };
}

/** What every kind shares around its decision: not due -> skipped, past the deadline -> failed, loop latency, errors. */
async function evaluate(ctx: PassContext, o: PassOptions, kind: Kind<AnyScaled>, run: KindRun<AnyScaled>, obj: AnyScaled, due: Due, at: EvaluationTime): Promise<ObjectReport> {
  const ref = refOf(obj);
  const report: ObjectReport = { kind: kind.kind, namespace: ref.namespace, name: ref.name, outcome: 'evaluated', triggers: [], scaled: false, statusWritten: false, events: [] };
  if (!due.due) {
    report.outcome = 'skipped';
    report.detail = due.reason;
    return report;
  }
  // the deadline's own timer may fire a little after the time it stands for: the clock decides
  if (ctx.deadline.aborted || ctx.measuring.remainingMs() <= 0) {
    report.outcome = 'failed';
    report.detail = o.stop?.aborted ? 'the run was stopped (SIGTERM) before this object was evaluated' : `${o.deadlineName ?? `pass deadline of ${o.passDeadlineMs} ms`} reached before this object was evaluated`;
    ctx.rec.recordObjectError(ref);
    return report;
  }
  const evalStart = ctx.now();
  report.loopLatencyMs = evalStart - o.scheduledStart;
  ctx.rec.recordLoopLatency(ref, report.loopLatencyMs);
  try {
    await run.evaluate(obj, report, at);
  } catch (e) {
    report.outcome = 'failed';
    report.detail = message(e);
    ctx.rec.recordObjectError(ref);
    ctx.log.error(`${kind.kind.toLowerCase()} evaluation failed`, { namespace: ref.namespace, [kind.logKey]: ref.name, error: report.detail });
  }
  return report;
}

/** scalepass.pass.objects: per kind listed (or whose LIST failed), how many objects were evaluated, skipped, failed; zeros too. */
function reportOutcomes(rec: Recorder, loaded: readonly Loaded[], objects: readonly ObjectReport[]): void {
  for (const { kind } of loaded) {
    for (const outcome of ['evaluated', 'skipped', 'failed'] as const) {
      rec.recordPassObjects(kind.kind, outcome, objects.filter((x) => x.kind === kind.kind && x.outcome === outcome).length);
    }
  }
}

/** keda.resource.totals per namespace and kind, keda.trigger.totals per trigger type over every kind. */
function reportTotals(rec: Recorder, loaded: readonly Loaded[]): void {
  const perType = new Map<string, number>();
  for (const { kind, objects } of loaded) {
    const perNs = new Map<string, number>();
    for (const { obj } of objects) {
      perNs.set(obj.metadata.namespace, (perNs.get(obj.metadata.namespace) ?? 0) + 1);
      for (const t of kind.triggers(obj)) perType.set(t.type, (perType.get(t.type) ?? 0) + 1);
    }
    for (const [ns, n] of perNs) rec.recordResourceTotals(ns, kind.resourceType, n);
  }
  for (const [type, n] of perType) rec.recordTriggerTotals(type, n);
}
