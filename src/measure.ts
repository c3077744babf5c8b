// Measuring one scaled resource's triggers: authentication, the scaler for each trigger, its reading
// within the per-trigger timeout and the pass deadline. Shared by every kind of scaled resource: what
// a kind supplies is its triggers, its name for telemetry and where its triggers' env comes from.
import type { KubeRest } from './kube/rest.ts';
import { countPodNodes, countPods } from './kube/targets.ts';
import { resolveTriggerInputs, type AuthCache, type EnvSource, type TriggerInputs } from './auth/resolve.ts';
import { redactTriggerSecrets } from './secrets.ts';
import { createScaler } from './scalers/registry.ts';
import type { Scaler, ScalerContext, ScalerTelemetry } from './scalers/types.ts';
import type { TriggerMeasurement, TriggerSpec } from './scaling/types.ts';
import type { Recorder, ScaledResourceRef, TriggerRef } from './telemetry/recorder.ts';
import type { Semaphore } from './limit.ts';
import type { ClientRegistry } from './scalers/clients.ts';
import type { PodLister } from './kube/pods.ts';
import { resourceMetricInput, type PodMetricsReader } from './kube/pod-metrics.ts';
import type { ReadinessTiming } from './scaling/resource-metrics.ts';
import { parseResourceTrigger } from './scalers/cpu-memory.ts';
import { isResourceTrigger } from './scaling/status.ts';
import { bounded, type Bounded } from './scalers/abort.ts';

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

export interface MeasureDeps {
  rest: KubeRest;
  auth: AuthCache;
  rec: Recorder;
  /** `concurrency`: triggers measured at the same time, across all objects */
  slots: Semaphore;
  deadline: AbortSignal;
  triggerTimeoutMs: number;
  /** the HPA's cpu initialization period and initial readiness delay */
  readinessTiming: ReadinessTiming;
  /** ms left until the pass deadline */
  remainingMs: () => number;
  now: () => number;
  /** every scaler made in this pass, closed at its end */
  scalers: Scaler[];
  /** backend connections, shared per endpoint across the pass's triggers */
  clients: ClientRegistry;
  /** the pods of scale targets, one LIST per namespace and selector (cpu/memory triggers, Value targets) */
  pods: PodLister;
  /** metrics.k8s.io PodMetrics, one request per namespace, only for cpu/memory triggers */
  podMetrics: PodMetricsReader;
}

export function triggerRef(m: TriggerMeasurement): TriggerRef {
  return { index: m.index, type: m.type, name: m.name, metricName: m.metricName };
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What is measured: a scaled resource's triggers, and where their env comes from. */
export interface MeasureSubject {
  ref: ScaledResourceRef;
  triggers: readonly TriggerSpec[];
  env: EnvSource;
  /**
   * the pods cpu/memory triggers read: a ScaledObject's /scale selector. Undefined for a kind without
   * a scale target (ScaledJob), whose cpu/memory triggers are skipped as KEDA skips them.
   */
  selector?: string;
  /**
   * a ScaledObject with scalingModifiers: its triggers are the formula's metric sources, may omit their
   * own target, and do not report keda.scaler.active (the composite metric does), as in KEDA
   */
  asMetricSource?: boolean;
}

/** Each trigger of the subject, measured; failures are values on the measurement, never thrown. */
export function measureTriggers(d: MeasureDeps, subject: MeasureSubject, reports: TriggerReport[]): Promise<TriggerMeasurement[]> {
  const { ref, selector } = subject;
  const ns = ref.namespace;
  const kube: ScalerContext['kube'] = {
    countPods: (n, sel, signal) => countPods(d.rest, n, sel, signal),
    countPodNodes: (n, sel, signal) => countPodNodes(d.rest, n, sel, signal),
  };
  return Promise.all(subject.triggers.map((trigger: TriggerSpec, index: number) => d.slots.run(async (): Promise<TriggerMeasurement> => {
    const t0 = d.now();
    const m: TriggerMeasurement = {
      index, name: trigger.name, type: trigger.type, metricName: `s${index}-${trigger.type}`,
      metricType: trigger.metricType ?? 'AverageValue', target: 0, activationTarget: 0,
    };
    let inputs: TriggerInputs | undefined;
    let bound: Bounded | undefined;
    try {
      if (isResourceTrigger(trigger.type)) {
        // a ScaledJob has no pods to read usage from: KEDA's ScaledJob loop skips metrics that are not external
        if (selector === undefined) return report(m, t0);
        await measureResource(d, ns, selector, trigger, m);
        // KEDA reports cpu/memory as active; they never make the object active (see objectActivity)
        d.rec.recordScalerActive(ref, triggerRef(m), true);
        return report(m, t0);
      }
      inputs = await resolveTriggerInputs(d.auth, subject.env, trigger);
      // scalers see the scaled resource's name whatever its kind, as KEDA's ScalerConfig carries it
      // KEDA's per-request instruments, under this trigger's names as they stand when a request ends
      const telemetry: ScalerTelemetry = {
        httpRequest: (seconds, status) => d.rec.recordHttpRequest(ref, triggerRef(m), seconds, status),
        emptyResponse: (ignoreNullValues) => d.rec.recordEmptyResponse(ref, triggerRef(m), ignoreNullValues),
      };
      const base = { namespace: ns, scaledObjectName: ref.name, triggerIndex: index, trigger, authParams: inputs.authParams, resolvedEnv: inputs.resolvedEnv, kube, clients: d.clients, telemetry, asMetricSource: subject.asMetricSource === true };
      const scaler = createScaler(base);
      d.scalers.push(scaler);
      Object.assign(m, { metricName: scaler.spec.metricName, metricType: scaler.spec.metricType, target: scaler.spec.target, activationTarget: scaler.spec.activationTarget });
      const timeoutMs = Math.max(1, Math.min(d.triggerTimeoutMs, d.remainingMs()));
      bound = bounded(timeoutMs, d.deadline);
      const signal = bound.signal;
      const ctx = { ...base, now: d.now(), signal };
      // a scaler that learns its metric name and target from the source (external) does so first, so a
      // read that fails afterwards still carries them (and its fallback its target)
      if (scaler.learnSpec) {
        await raceAbort(scaler.learnSpec(ctx), signal, () => timedOut(d, timeoutMs));
        Object.assign(m, { metricName: scaler.spec.metricName, target: scaler.spec.target });
      }
      const reading = await raceAbort(scaler.measure(ctx), signal, () => timedOut(d, timeoutMs));
      m.value = reading.value;
      m.active = reading.active;
      d.rec.recordScalerLatency(ref, triggerRef(m), d.now() - t0);
      if (!subject.asMetricSource) d.rec.recordScalerActive(ref, triggerRef(m), reading.active);
    } catch (e) {
      // defence in depth: whatever the scaler left in its message, the trigger's credentials go
      m.error = redactTriggerSecrets(message(e), trigger, inputs);
      d.rec.recordScalerError(ref, triggerRef(m));
    } finally {
      bound?.done();
    }
    return report(m, t0);
  })));

  function report(m: TriggerMeasurement, t0: number): TriggerMeasurement {
    reports[m.index] = {
      index: m.index, name: m.name, type: m.type, metricName: m.metricName, metricType: m.metricType,
      target: m.target, activationTarget: m.activationTarget, value: m.value, active: m.active, error: m.error, latencyMs: d.now() - t0,
    };
    return m;
  }
}

/**
 * A cpu/memory trigger: KEDA's parse of it (a bad one fails the trigger, as its scaler fails to build),
 * then the target's pods and their metrics.k8s.io samples for the replica formula. A failed read
 * stays inside `m.resource`: it fails the HPA's metric, never KEDA's trigger.
 */
async function measureResource(d: MeasureDeps, ns: string, selector: string, trigger: TriggerSpec, m: TriggerMeasurement): Promise<void> {
  const spec = parseResourceTrigger(trigger);
  Object.assign(m, { metricName: spec.resource, metricType: spec.metricType, target: spec.targetNumber, active: true });
  if (!selector) {
    m.resource = { resource: spec.resource, target: spec.target, containerName: spec.containerName, pods: [], podMetrics: [], error: 'selector is required' };
    return;
  }
  const timeoutMs = Math.max(1, Math.min(d.triggerTimeoutMs, d.remainingMs()));
  const bound = bounded(timeoutMs, d.deadline);
  const settle = <T>(p: Promise<T>): Promise<T | { error: string }> => raceAbort(p, bound.signal, () => timedOut(d, timeoutMs)).catch((e: unknown) => ({ error: message(e) }));
  try {
    const [podMetrics, pods] = await Promise.all([settle(d.podMetrics.namespace(ns)), settle(d.pods.list(ns, selector))]);
    m.resource = { ...resourceMetricInput(spec, pods, podMetrics), timing: d.readinessTiming };
  } finally {
    bound.done();
  }
}

/** Why a read was cut: its own timeout, or the pass's deadline (or the run's end, or a SIGTERM) before it. */
function timedOut(d: MeasureDeps, timeoutMs: number): string {
  return d.deadline.aborted || timeoutMs < d.triggerTimeoutMs ? `cut by the pass's deadline after ${timeoutMs} ms` : `timed out after ${timeoutMs} ms`;
}

/** A scaler that ignores its AbortSignal must still not hold up the pass. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, why: () => string): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(why()));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(why()));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
