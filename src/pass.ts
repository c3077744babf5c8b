// One pass, as the data flows: load -> measure -> decide -> apply -> report.
// Errors are values on the object they concern; one broken ScaledObject never stops the others.
import type { KubeRest } from './kube/rest.ts';
import { listScaledObjects, type ScaledObject } from './kube/scaledobjects.ts';
import { TargetResolver, TargetError, ScaleConflict, type ResolvedTarget, type Scale } from './kube/targets.ts';
import { PodLister } from './kube/pods.ts';
import { PodMetricsReader } from './kube/pod-metrics.ts';
import { LimitRangeReader, readPodTemplateResources } from './kube/pod-template.ts';
import { isResourceTrigger } from './scaling/status.ts';
import { statusChanged, writeStatus } from './kube/status.ts';
import { createEvent } from './kube/events.ts';
import { specSchemaError } from './scaledobject-spec.ts';
import { isDue, ownedBy } from './scaling/due.ts';
import { decide } from './scaling/decide.ts';
import { eventsAfterFailedScale } from './scaling/events.ts';
import { readAnnotations } from './scaling/annotations.ts';
import type { Decision, DecisionEvent, PodTemplateResources, ScaledObjectStatus, TriggerMeasurement } from './scaling/types.ts';
import type { Scaler } from './scalers/types.ts';
import { ClientRegistry } from './scalers/clients.ts';
import type { Recorder } from './telemetry/recorder.ts';
import type { Logger } from './log.ts';
import { AuthCache } from './auth/resolve.ts';
import { pool, Semaphore } from './limit.ts';
import { measureTriggers, message, triggerRef, type MeasureDeps, type TriggerReport } from './measure.ts';

export type { TriggerReport };

/** A /scale write that met a newer target this many times in a row gives up for this pass. */
const SCALE_ATTEMPTS = 3;

export interface PassOptions {
  namespaces: string[];
  labelSelector?: string;
  concurrency: number;
  triggerTimeoutMs: number;
  passDeadlineMs: number;
  dryRun: boolean;
  shardIndex: number;
  shardCount: number;
  /** scheduled start of this run (ms) for keda.internal.scale.loop.latency */
  scheduledStart: number;
  /** start of the shard's previous pass (ms), undefined on the first */
  lastPass?: number;
  /** events' reportingInstance */
  instance: string;
  /** aborted when the shard's lease is lost: from then on no write starts (another run may be writing) */
  leaseLost?: AbortSignal;
}

export interface ObjectReport {
  namespace: string;
  name: string;
  outcome: 'evaluated' | 'skipped' | 'failed';
  /** why skipped, or what failed */
  detail?: string;
  target?: string;
  triggers: TriggerReport[];
  current?: number;
  desired?: number;
  active?: boolean;
  paused?: boolean;
  reason?: string;
  scaled: boolean;
  statusWritten: boolean;
  events: DecisionEvent[];
  loopLatencyMs?: number;
}

export interface PassReport {
  start: number;
  durationMs: number;
  objects: ObjectReport[];
  requests: Record<string, number>;
  denied: string[];
}

export async function runPass(rest: KubeRest, rec: Recorder, log: Logger, o: PassOptions, now: () => number = Date.now): Promise<PassReport> {
  const start = now();
  // requests are reported per pass, without what the run did before (lease, Job lookup)
  const before = { ...rest.counts };
  const deniedBefore = rest.denied.length;
  const deadline = AbortSignal.timeout(o.passDeadlineMs);
  const targets = new TargetResolver(rest);
  const scalers: Scaler[] = [];
  // backend connections shared by the triggers that name the same server: a few per endpoint, not one per trigger
  const clients = new ClientRegistry();
  const pods = new PodLister(rest, deadline);
  const limitRanges = new LimitRangeReader(rest, deadline);
  const measuring: MeasureDeps = {
    rest, auth: new AuthCache(rest), rec, slots: new Semaphore(o.concurrency), deadline, triggerTimeoutMs: o.triggerTimeoutMs,
    remainingMs: () => o.passDeadlineMs - (now() - start), now, scalers, clients, pods, podMetrics: new PodMetricsReader(rest, deadline),
  };

  const all = await listScaledObjects(rest, o.namespaces, o.labelSelector);
  const owned = all.filter((so) => ownedBy(so.metadata.uid, o.shardIndex, o.shardCount));
  reportTotals(rec, owned);

  const evaluate = async (so: ScaledObject): Promise<ObjectReport> => {
    const ns = so.metadata.namespace;
    const name = so.metadata.name;
    const ref = { namespace: ns, name };
    const report: ObjectReport = { namespace: ns, name, outcome: 'evaluated', triggers: [], scaled: false, statusWritten: false, events: [] };
    const due = isDue(so.metadata.uid, so.spec?.pollingInterval ?? 30, o.dryRun ? undefined : o.lastPass, start);
    if (!due.due) {
      report.outcome = 'skipped';
      report.detail = due.reason;
      return report;
    }
    if (deadline.aborted) {
      report.outcome = 'failed';
      report.detail = `pass deadline of ${o.passDeadlineMs} ms reached before this object was evaluated`;
      rec.recordScaledObjectError(ref);
      return report;
    }
    const evalStart = now();
    report.loopLatencyMs = evalStart - o.scheduledStart;
    rec.recordLoopLatency(ref, report.loopLatencyMs);
    const annotations = so.metadata.annotations ?? {};

    // Failures before a decision can be made: the object gets Ready=False and an event; nothing is scaled.
    const checkFailed = async (detail: string): Promise<ObjectReport> => {
      report.outcome = 'failed';
      report.detail = detail;
      rec.recordScaledObjectError(ref);
      const status = withCondition(so.status ?? {}, 'Ready', 'False', 'ScaledObjectCheckFailed', detail);
      const ev: DecisionEvent = { type: 'Warning', reason: 'ScaledObjectCheckFailed', message: detail };
      const wasFailing = so.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.message === detail);
      if (!o.dryRun) {
        if (statusChanged(so.status, status)) report.statusWritten = await guardWrite(o.leaseLost, () => writeStatus(rest, so, status));
        if (!wasFailing) {
          await guardWrite(o.leaseLost, () => createEvent(rest, so, ev, o.instance, new Date(now())));
          report.events.push(ev);
        }
      }
      log.warn('scaledobject check failed', { namespace: ns, scaledObject: name, error: detail });
      return report;
    };

    try {
      const specError = specSchemaError(so.spec);
      if (specError) return await checkFailed(`ScaledObject ${ns}/${name}: ${specError}`);

      let target: ResolvedTarget;
      let scale: Scale;
      try {
        target = await targets.resolve(ns, so.spec.scaleTargetRef);
        report.target = `${target.kindString} ${so.spec.scaleTargetRef.name}`;
        scale = await targets.readScale(target, deadline);
      } catch (e) {
        if (e instanceof TargetError) return await checkFailed(e.message);
        throw e;
      }

      // a fully paused object is not measured at all, as KEDA stops its loop
      const paused = readAnnotations(annotations).fullPause !== undefined;
      const measurements: TriggerMeasurement[] = paused ? [] : await measureTriggers(measuring, so, target, report.triggers, scale.selector);
      // only Value targets (and their fallback values) divide by ready pods: one pod LIST, only for them
      // (the same LIST cpu/memory triggers read)
      const needsReady = measurements.some((m) => m.metricType === 'Value');
      const readyReplicas = needsReady && !paused ? await pods.readyCount(ns, scale.selector) : 0;
      // cpu/memory: KEDA's missing-requests check reads the pod template (and LimitRanges if needed)
      const resources = new Set(so.spec.triggers.filter((t) => isResourceTrigger(t.type)).map((t) => t.type as 'cpu' | 'memory'));
      const podTemplate: PodTemplateResources | undefined = resources.size > 0 && !paused
        ? await readPodTemplateResources((p) => measuring.auth.get(p), limitRanges, target, ns, resources) : undefined;

      const decideOn = (s: Scale): Decision => decide({
        name, namespace: ns, spec: so.spec, annotations, creationTimestamp: so.metadata.creationTimestamp,
        status: so.status ?? {}, measurements,
        target: { specReplicas: s.specReplicas, statusReplicas: s.statusReplicas, readyReplicas, kind: target.kindString, namespace: ns, name: so.spec.scaleTargetRef.name, podTemplate },
        now: evalStart,
      });
      // the /scale write carries the resourceVersion read: when the target changed since (a person,
      // another controller), it is read again and the decision made again on what it is now
      let decision = decideOn(scale);
      let scaleError: string | undefined;
      for (let attempt = 1; !o.dryRun && decision.replicas !== scale.specReplicas; attempt++) {
        try {
          await guardWrite(o.leaseLost, () => targets.setReplicas(target, scale, decision.replicas));
          report.scaled = true;
          break;
        } catch (e) {
          if (e instanceof LeaseLostError) throw e;
          if (!(e instanceof ScaleConflict) || attempt >= SCALE_ATTEMPTS) {
            scaleError = message(e);
            break;
          }
          log.info('scale target changed since it was read; deciding again', { namespace: ns, scaledObject: name, error: e.message });
          scale = await targets.readScale(target, deadline, true);
          decision = decideOn(scale);
        }
      }
      report.current = scale.specReplicas;
      report.desired = decision.replicas;
      report.active = decision.active;
      report.paused = decision.paused;
      report.reason = decision.reason;
      rec.recordPaused(ref, decision.paused);
      for (const m of measurements) {
        const v = decision.metricValues[m.metricName];
        if (v !== undefined) {
          const tr = report.triggers.find((t) => t.metricName === m.metricName);
          if (tr) tr.value = v;
          rec.recordScalerValue(ref, triggerRef(m), v);
        }
      }

      const status: ScaledObjectStatus = {
        ...decision.status,
        scaleTargetKind: target.kindString,
        scaleTargetGVKR: { group: target.group, version: target.version, kind: target.kind, resource: target.resource },
        originalReplicaCount: so.status?.originalReplicaCount ?? scale.specReplicas,
        authenticationsTypes: distinct(so.spec.triggers.map((t) => t.authenticationRef?.name ?? '')),
      };
      let events = decision.events;
      if (scaleError !== undefined) {
        const tstate = { specReplicas: scale.specReplicas, statusReplicas: scale.statusReplicas, readyReplicas, kind: target.kindString, namespace: ns, name: so.spec.scaleTargetRef.name };
        // the decision's scale events did not happen: they become the failures KEDA and the HPA report
        events = eventsAfterFailedScale(events, tstate, scale.specReplicas, decision.replicas, scaleError);
        report.outcome = 'failed';
        report.detail = `Failed to scale ${target.kindString} ${ns}/${so.spec.scaleTargetRef.name} from ${scale.specReplicas} to ${decision.replicas}: ${scaleError}`;
        rec.recordScaledObjectError(ref);
        // the scale did not happen: keep the history the next pass reasons from as it was
        status.lastActiveTime = so.status?.lastActiveTime;
        status.recommendations = so.status?.recommendations;
        status.scaleEvents = so.status?.scaleEvents;
      }
      if (!o.dryRun) {
        if (statusChanged(so.status, status)) report.statusWritten = await guardWrite(o.leaseLost, () => writeStatus(rest, so, status));
        for (const ev of events) await guardWrite(o.leaseLost, () => createEvent(rest, so, ev, o.instance, new Date(now())));
      }
      report.events = events;
      const errored = report.triggers.filter((t) => t.error);
      if (errored.length && report.outcome === 'evaluated') {
        report.outcome = 'failed';
        report.detail = errored.map((t) => `trigger ${t.index} (${t.type}): ${t.error}`).join('; ');
      }
      log.info('decision', {
        namespace: ns, scaledObject: name, target: report.target, current: report.current, desired: report.desired,
        active: report.active, paused: report.paused, reason: report.reason, scaled: report.scaled, statusWritten: report.statusWritten,
        triggers: report.triggers.map((t) => ({ metric: t.metricName, value: t.value, target: t.target, active: t.active, error: t.error })),
        dryRun: o.dryRun || undefined,
      });
      return report;
    } catch (e) {
      report.outcome = 'failed';
      report.detail = message(e);
      rec.recordScaledObjectError(ref);
      log.error('scaledobject evaluation failed', { namespace: ns, scaledObject: name, error: report.detail });
      return report;
    }
  };

  // Deployments and StatefulSets targeted by several due objects in a namespace: one LIST each
  const perKind = new Map<string, number>();
  for (const so of owned) {
    if (!isDue(so.metadata.uid, so.spec?.pollingInterval ?? 30, o.dryRun ? undefined : o.lastPass, start).due) continue;
    const ref = so.spec?.scaleTargetRef;
    const kind = ref?.kind?.trim() || 'Deployment';
    if ((ref?.apiVersion?.trim() || 'apps/v1') !== 'apps/v1' || (kind !== 'Deployment' && kind !== 'StatefulSet')) continue;
    const key = `${so.metadata.namespace}/${kind === 'Deployment' ? 'deployments' : 'statefulsets'}`;
    perKind.set(key, (perKind.get(key) ?? 0) + 1);
  }
  await Promise.all([...perKind].filter(([, n]) => n >= 2).map(([key]) => {
    const [ns, resource] = key.split('/') as [string, 'deployments' | 'statefulsets'];
    return targets.prefetch(ns, resource, deadline);
  }));

  try {
    // objects are bounded too (each holds its target, status and events in flight); triggers by `slots`
    const objects = await pool(owned, o.concurrency, evaluate);
    const requests = Object.fromEntries(Object.entries(rest.counts).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    return { start, durationMs: now() - start, objects, requests, denied: rest.denied.slice(deniedBefore) };
  } finally {
    await Promise.allSettled(scalers.map((s) => s.close()));
    await clients.closeAll();
  }
}

class LeaseLostError extends Error {}

/** A write starts only while this run holds the shard's lease; otherwise the object fails with this error. */
function guardWrite<T>(leaseLost: AbortSignal | undefined, write: () => Promise<T>): Promise<T> {
  if (leaseLost?.aborted) return Promise.reject(new LeaseLostError('shard lease lost: not writing'));
  return write();
}

function distinct(xs: string[]): string {
  return [...new Set(xs.filter(Boolean))].join(',');
}

function withCondition(status: ScaledObjectStatus, type: string, st: 'True' | 'False' | 'Unknown', reason: string, msg: string): ScaledObjectStatus {
  const conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  const ready = { type, status: st, reason, message: msg };
  const active = st === 'False' && type === 'Ready' ? [{ type: 'Active', status: 'Unknown' as const, reason: 'UnknownState', message: 'ScaledObject check failed' }] : [];
  return { ...status, conditions: [ready, ...active, ...conditions.filter((c) => !(active.length && c.type === 'Active'))] };
}

function reportTotals(rec: Recorder, objects: ScaledObject[]): void {
  const perNs = new Map<string, number>();
  const perType = new Map<string, number>();
  for (const so of objects) {
    perNs.set(so.metadata.namespace, (perNs.get(so.metadata.namespace) ?? 0) + 1);
    for (const t of so.spec?.triggers ?? []) perType.set(t.type, (perType.get(t.type) ?? 0) + 1);
  }
  for (const [ns, n] of perNs) rec.recordResourceTotals(ns, 'scaled_object', n);
  for (const [type, n] of perType) rec.recordTriggerTotals(type, n);
}

