// One pass, as the data flows: load -> measure -> decide -> apply -> report.
// Errors are values on the object they concern; one broken ScaledObject never stops the others.
import type { KubeRest } from './kube/rest.ts';
import { listScaledObjects, type ScaledObject } from './kube/scaledobjects.ts';
import { TargetResolver, TargetError, countReadyPods, countPods, type ResolvedTarget, type Scale } from './kube/targets.ts';
import { statusChanged, writeStatus } from './kube/status.ts';
import { createEvent } from './kube/events.ts';
import { specSchemaError } from './scaledobject-spec.ts';
import { isDue, ownedBy } from './scaling/due.ts';
import { decide } from './scaling/decide.ts';
import { readAnnotations } from './scaling/annotations.ts';
import type { Decision, DecisionEvent, ScaledObjectStatus, TriggerMeasurement, TriggerSpec } from './scaling/types.ts';
import { createScaler } from './scalers/registry.ts';
import type { Scaler } from './scalers/types.ts';
import { ClientRegistry } from './scalers/clients.ts';
import type { Recorder, TriggerRef } from './telemetry/recorder.ts';
import type { Logger } from './log.ts';
import { resolveTriggerInputs, AuthCache } from './auth/resolve.ts';

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
}

export interface TriggerReport {
  index: number;
  name?: string;
  type: string;
  metricName: string;
  metricType: string;
  target: number;
  activationTarget: number;
  value?: number;
  active?: boolean;
  error?: string;
  latencyMs: number;
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

/** Run fn over items with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function runPass(rest: KubeRest, rec: Recorder, log: Logger, o: PassOptions, now: () => number = Date.now): Promise<PassReport> {
  const start = now();
  // requests are reported per pass, without what the run did before (lease, Job lookup)
  const before = { ...rest.counts };
  const deniedBefore = rest.denied.length;
  const deadline = AbortSignal.timeout(o.passDeadlineMs);
  const targets = new TargetResolver(rest);
  const auth = new AuthCache(rest);
  const scalers: Scaler[] = [];
  // backend connections shared by the triggers that name the same server: a few per endpoint, not one per trigger
  const clients = new ClientRegistry();

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
        if (statusChanged(so.status, status)) {
          await writeStatus(rest, so, status);
          report.statusWritten = true;
        }
        if (!wasFailing) {
          await createEvent(rest, so, ev, o.instance, new Date(now()));
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
      const measurements: TriggerMeasurement[] = paused ? [] : await measureAll(so, target, report);
      // only Value targets (and their fallback values) divide by ready pods: one pod LIST, only for them
      const needsReady = measurements.some((m) => m.metricType === 'Value');
      const readyReplicas = needsReady && scale.selector && !paused ? await countReadyPods(rest, ns, scale.selector, deadline) : 0;

      const decision: Decision = decide({
        name, namespace: ns, spec: so.spec, annotations, creationTimestamp: so.metadata.creationTimestamp,
        status: so.status ?? {}, measurements,
        target: { specReplicas: scale.specReplicas, statusReplicas: scale.statusReplicas, readyReplicas, kind: target.kindString, namespace: ns, name: so.spec.scaleTargetRef.name },
        now: evalStart,
      });
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
      const events = [...decision.events];
      if (!o.dryRun) {
        if (decision.replicas !== scale.specReplicas) {
          try {
            await targets.setReplicas(target, decision.replicas);
            report.scaled = true;
          } catch (e) {
            const failed: DecisionEvent = { type: 'Warning', reason: decision.replicas > scale.specReplicas ? 'KEDAScaleTargetActivationFailed' : 'KEDAScaleTargetDeactivationFailed',
              message: `Failed to scale ${target.kindString} ${ns}/${so.spec.scaleTargetRef.name} from ${scale.specReplicas} to ${decision.replicas}: ${message(e)}` };
            // the decision's success events did not happen; keep only the others
            events.splice(0, events.length, ...events.filter((x) => !x.reason.startsWith('KEDAScaleTarget')), failed);
            report.outcome = 'failed';
            report.detail = failed.message;
            rec.recordScaledObjectError(ref);
            // the scale did not happen: keep the history the next pass reasons from as it was
            status.lastActiveTime = so.status?.lastActiveTime;
            status.recommendations = so.status?.recommendations;
            status.scaleEvents = so.status?.scaleEvents;
          }
        }
        if (statusChanged(so.status, status)) {
          await writeStatus(rest, so, status);
          report.statusWritten = true;
        }
        for (const ev of events) await createEvent(rest, so, ev, o.instance, new Date(now()));
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

  const measureAll = async (so: ScaledObject, target: ResolvedTarget, report: ObjectReport): Promise<TriggerMeasurement[]> => {
    const ns = so.metadata.namespace;
    const ref = { namespace: ns, name: so.metadata.name };
    return Promise.all(so.spec.triggers.map(async (trigger: TriggerSpec, index: number): Promise<TriggerMeasurement> => {
      const t0 = now();
      let scaler: Scaler | undefined;
      const fallbackName = `s${index}-${trigger.type}`;
      const m: TriggerMeasurement = {
        index, name: trigger.name, type: trigger.type, metricName: fallbackName,
        metricType: trigger.metricType ?? 'AverageValue', target: 0, activationTarget: 0,
      };
      try {
        const inputs = await resolveTriggerInputs(auth, so, target, trigger);
        scaler = createScaler({
          namespace: ns, scaledObjectName: so.metadata.name, triggerIndex: index, trigger,
          authParams: inputs.authParams, resolvedEnv: inputs.resolvedEnv, clients,
          kube: { countPods: (n, sel, signal) => countPods(rest, n, sel, signal) },
        });
        scalers.push(scaler);
        Object.assign(m, { metricName: scaler.spec.metricName, metricType: scaler.spec.metricType, target: scaler.spec.target, activationTarget: scaler.spec.activationTarget });
        const signal = AbortSignal.any([deadline, AbortSignal.timeout(Math.max(1, Math.min(o.triggerTimeoutMs, o.passDeadlineMs - (now() - start))))]);
        const reading = await raceAbort(scaler.measure({
          namespace: ns, scaledObjectName: so.metadata.name, triggerIndex: index, trigger,
          authParams: inputs.authParams, resolvedEnv: inputs.resolvedEnv, now: now(), signal, clients,
          kube: { countPods: (n, sel, s) => countPods(rest, n, sel, s) },
        }), signal, o.triggerTimeoutMs);
        m.value = reading.value;
        m.active = reading.active;
        // some scalers (external) learn their metric name and target from the source during measure()
        Object.assign(m, { metricName: scaler.spec.metricName, target: scaler.spec.target });
        rec.recordScalerLatency(ref, triggerRef(m), now() - t0);
        rec.recordScalerActive(ref, triggerRef(m), reading.active);
      } catch (e) {
        m.error = message(e);
        rec.recordScalerError(ref, triggerRef(m));
      }
      report.triggers[index] = {
        index, name: trigger.name, type: trigger.type, metricName: m.metricName, metricType: m.metricType,
        target: m.target, activationTarget: m.activationTarget, value: m.value, active: m.active, error: m.error, latencyMs: now() - t0,
      };
      return m;
    }));
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
    const objects = await pool(owned, Math.max(1, o.concurrency), evaluate);
    const requests = Object.fromEntries(Object.entries(rest.counts).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    return { start, durationMs: now() - start, objects, requests, denied: rest.denied.slice(deniedBefore) };
  } finally {
    await Promise.allSettled(scalers.map((s) => s.close()));
    await clients.closeAll();
  }
}

function triggerRef(m: TriggerMeasurement): TriggerRef {
  return { index: m.index, type: m.type, name: m.name, metricName: m.metricName };
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

/** A scaler that ignores its AbortSignal must still not hold up the pass. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(`timed out after ${timeoutMs} ms`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`timed out after ${timeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e instanceof Error ? e : new Error(String(e))); });
  });
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

