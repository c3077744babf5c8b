// The typed recorder the rest of the code reports through. It takes references made of names
// (namespace, object, trigger, metric) and never a spec, metadata map or auth parameter, so no
// secret can reach an attribute value. A reference names its kind: a ScaledJob's series carry
// KEDA's ScaledJob attributes (`scaledJob`, `triggerIndex`), its errors go to keda.scaledjob.errors
// and its loop latency has type `scaledjob`.
//
// Gauges follow KEDA's buffered observable gauges: a record keeps the last value per attribute set,
// the next collection observes it and forgets it. In a one-shot process that collection is the
// flush, so each pass exports exactly the values it measured, and a series the pass did not touch
// (object not due, trigger failed) is absent instead of repeating a stale value.
// Totals are observable up-down counters holding the count seen in this pass: each pass reports the
// whole count (cumulative), which is what KEDA's up-down counters add up to.
// Histograms (HTTP request and pass durations) are synchronous, exported as delta like the counters.

import { ValueType, type Attributes, type Meter, type ObservableResult } from '@opentelemetry/api';
import {
  INSTRUMENTS, goArch, kedaScalerTypeName,
  type InstrumentKey, type InstrumentSpec, type ResourceType,
} from './instruments.ts';

/** A scaled resource, by name; a ScaledObject unless `kind` says otherwise. */
export interface ScaledResourceRef {
  kind?: 'ScaledObject' | 'ScaledJob';
  namespace: string;
  name: string;
}

/** A ScaledObject, by name. */
export type ScaledObjectRef = ScaledResourceRef;

/** One trigger of a ScaledObject, by position and names. */
export interface TriggerRef {
  /** position in spec.triggers; KEDA's `scalerIndex` */
  index: number;
  /** trigger type, e.g. `redis` */
  type: string;
  /** trigger `name`, when set it is the `scaler` attribute */
  name?: string;
  /** KEDA metric name (`s0-redis-orders`, `cpu`, `composite-metric`) */
  metricName: string;
}

export interface BuildInfo {
  version: string;
  gitCommit: string;
}

export interface Recorder {
  /** keda.scaler.metrics.value */
  recordScalerValue(ref: ScaledResourceRef, trigger: TriggerRef, value: number): void;
  /** scalepass.scaler.metrics.target: the trigger's target, for dashboards to set beside the value */
  recordScalerTarget(ref: ScaledResourceRef, trigger: TriggerRef, target: number): void;
  /** keda.scaler.active */
  recordScalerActive(ref: ScaledResourceRef, trigger: TriggerRef, active: boolean): void;
  /** keda.scaler.metrics.latency (whole ms, as KEDA), and .latency.seconds with current names */
  recordScalerLatency(ref: ScaledResourceRef, trigger: TriggerRef, ms: number): void;
  /**
   * One failed trigger read: keda.scaler.errors and keda.scaler.errors.total +1, and, as in KEDA's
   * collector, the object's error counter +1 (recordObjectError).
   */
  recordScalerError(ref: ScaledResourceRef, trigger: TriggerRef): void;
  /**
   * The object's error counter +1: keda.scaled.object.errors (and keda.scaledobject.errors with
   * current names) for a ScaledObject, keda.scaledjob.errors for a ScaledJob.
   */
  recordObjectError(ref: ScaledResourceRef): void;
  /** keda.internal.scale.loop.latency: evaluation start minus scheduled start, in ms */
  recordLoopLatency(ref: ScaledResourceRef, ms: number): void;
  /** keda.resource.totals: how many resources of this type this pass saw in the namespace */
  recordResourceTotals(namespace: string, type: ResourceType, count: number): void;
  /** keda.trigger.totals: how many triggers of this type this pass saw */
  recordTriggerTotals(triggerType: string, count: number): void;
  /** keda.scaled.object.paused (current names only: the seed has no paused gauge) */
  recordPaused(ref: ScaledObjectRef, paused: boolean): void;
  /**
   * One outbound HTTP request of a metric read (current names only): keda.scaler.http.requests.count
   * +1 and its duration on keda.scaler.http.request.duration.seconds. `status` undefined: no response
   * (refused, timed out, aborted), KEDA's status_code `error`.
   */
  recordHttpRequest(ref: ScaledResourceRef, trigger: TriggerRef, seconds: number, status: number | undefined): void;
  /** keda.scaler.empty.upstream.responses +1 (current names only): the source answered with no value */
  recordEmptyResponse(ref: ScaledResourceRef, trigger: TriggerRef, ignoreNullValues: boolean): void;
  /** scalepass.scaledobject.replicas.current / .desired */
  recordReplicas(ref: ScaledObjectRef, current: number, desired: number): void;
  /** scalepass.pass.duration: one run's time from process start to the end of its pass, and how it ended */
  recordPass(outcome: PassOutcome, seconds: number): void;
  /** scalepass.pass.objects: how many objects of a kind ended the pass this way */
  recordPassObjects(kind: 'ScaledObject' | 'ScaledJob', outcome: 'evaluated' | 'skipped' | 'failed', count: number): void;
  /** scalepass.pass.rounds: one pass over the shard's objects (a run in mode once, a round in mode period) ended this way */
  recordRound(outcome: PassOutcome): void;
}

/**
 * How a run ended. success: every object in scope evaluated or skipped as not due (exit 0);
 * partial_failure: some objects failed or a kind could not be listed, the others were handled;
 * lease_lost: the shard's Lease was lost mid-pass, no write started after; lease_held: another run
 * holds the shard, nothing done; failed: no pass (cluster unreachable, permission denied...);
 * terminated: SIGTERM during the pass.
 */
export type PassOutcome = 'success' | 'partial_failure' | 'lease_lost' | 'lease_held' | 'failed' | 'terminated';

export interface RecorderOptions {
  emitCurrentKedaNames: boolean;
  build: BuildInfo;
}

/** The recorder plus what the provider needs to know about it. */
export interface OwnedRecorder extends Recorder {
  /** changes with every record; equal values mean nothing new was recorded in between */
  generation(): number;
}

const MAX_ATTRIBUTE_LENGTH = 253;

/** Keeps attribute values to names: bounded length, and no URL credentials should one slip in. */
export function nameOnly(value: string): string {
  // the common case, a Kubernetes name, has nothing to clean: no regex for it (several per object per pass)
  if (value.length <= MAX_ATTRIBUTE_LENGTH && !value.includes('@')) return value;
  const cleaned = value.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
  return cleaned.length > MAX_ATTRIBUTE_LENGTH ? cleaned.slice(0, MAX_ATTRIBUTE_LENGTH) : cleaned;
}

const isJob = (ref: ScaledResourceRef): boolean => ref.kind === 'ScaledJob';

/** KEDA's S_SO set, or its S_SJ set for a ScaledJob (`scaledJob`, and the index as `triggerIndex`) */
function scalerAttributes(ref: ScaledResourceRef, trigger: TriggerRef): Attributes {
  return {
    namespace: nameOnly(ref.namespace),
    [isJob(ref) ? 'scaledJob' : 'scaledObject']: nameOnly(ref.name),
    scaler: nameOnly(trigger.name || kedaScalerTypeName(trigger.type)),
    [isJob(ref) ? 'triggerIndex' : 'scalerIndex']: String(trigger.index),
    metric: nameOnly(trigger.metricName),
  };
}

function objectAttributes(ref: ScaledResourceRef): Attributes {
  return { namespace: nameOnly(ref.namespace), [isJob(ref) ? 'scaledJob' : 'scaledObject']: nameOnly(ref.name) };
}

/**
 * The identity of an attribute set within one instrument. Every set is built by one of the functions
 * above, so the same set always has its keys in the same order: no sort needed. The separators are
 * control characters, which no Kubernetes name or metric name holds.
 */
function attributeKey(attrs: Attributes): string {
  let key = '';
  for (const k in attrs) key += `${k}\u0001${String(attrs[k])}\u0002`;
  return key;
}

/** Last value per attribute set, handed to the next observation. */
class LastValues {
  readonly #values = new Map<string, { attrs: Attributes; value: number }>();
  readonly #forget: boolean;
  constructor(forgetAfterObserve: boolean) {
    this.#forget = forgetAfterObserve;
  }
  set(attrs: Attributes, value: number): void {
    this.#values.set(attributeKey(attrs), { attrs, value });
  }
  observe(result: ObservableResult): void {
    for (const { attrs, value } of this.#values.values()) result.observe(value, attrs);
    if (this.#forget) this.#values.clear();
  }
}

export function createRecorder(meter: Meter, options: RecorderOptions): OwnedRecorder {
  let generation = 0;
  const enabled = (s: InstrumentSpec): boolean => !s.current || options.emitCurrentKedaNames;
  const valueType = (s: InstrumentSpec): ValueType => (s.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE);

  const counters = new Map<InstrumentKey, { add(v: number, a?: Attributes): void }>();
  const histograms = new Map<InstrumentKey, { record(v: number, a?: Attributes): void }>();
  const observed = new Map<InstrumentKey, LastValues>();
  for (const [key, s] of Object.entries(INSTRUMENTS) as [InstrumentKey, InstrumentSpec][]) {
    if (!enabled(s)) continue;
    const opts = { description: s.description, unit: s.unit, valueType: valueType(s) };
    if (s.kind === 'counter') {
      counters.set(key, meter.createCounter(s.name, opts));
      continue;
    }
    if (s.kind === 'histogram') {
      histograms.set(key, meter.createHistogram(s.name, { ...opts, ...(s.buckets ? { advice: { explicitBucketBoundaries: [...s.buckets] } } : {}) }));
      continue;
    }
    // totals are not forgotten: a repeat collection must still report the pass's count
    const values = new LastValues(s.kind === 'gauge');
    observed.set(key, values);
    const instrument = s.kind === 'gauge' ? meter.createObservableGauge(s.name, opts) : meter.createObservableUpDownCounter(s.name, opts);
    instrument.addCallback((result) => values.observe(result));
  }

  const count = (key: InstrumentKey, attrs: Attributes, n = 1): void => {
    const c = counters.get(key);
    if (!c) return;
    generation++;
    c.add(n, attrs);
  };
  const observe = (key: InstrumentKey, attrs: Attributes, value: number): void => {
    const h = histograms.get(key);
    if (!h || !Number.isFinite(value) || value < 0) return;
    generation++;
    h.record(value, attrs);
  };
  const set = (key: InstrumentKey, attrs: Attributes, value: number): void => {
    const v = observed.get(key);
    // a NaN or infinite double would make the OTLP/JSON body invalid and lose the whole export
    if (!v || !Number.isFinite(value)) return;
    generation++;
    v.set(attrs, value);
  };

  // KEDA reports build info once per process, at the first collection.
  set('buildInfo', {
    version: nameOnly(options.build.version),
    git_commit: nameOnly(options.build.gitCommit),
    goos: process.platform,
    goarch: goArch(process.arch),
    runtime: `node${process.versions.node}`,
  }, 1);

  const recordObjectError = (ref: ScaledResourceRef): void => {
    const attrs = objectAttributes(ref);
    if (isJob(ref)) {
      count('scaledJobErrors', attrs);
      return;
    }
    count('scaledObjectErrors', attrs);
    count('scaledObjectErrorsCurrent', attrs);
  };

  return {
    generation: () => generation,
    recordScalerValue(ref, trigger, value) {
      set('scalerMetricsValue', scalerAttributes(ref, trigger), value);
    },
    recordScalerTarget(ref, trigger, target) {
      set('scalerMetricsTarget', scalerAttributes(ref, trigger), target);
    },
    recordScalerActive(ref, trigger, active) {
      set('scalerActive', scalerAttributes(ref, trigger), active ? 1 : 0);
    },
    recordScalerLatency(ref, trigger, ms) {
      const attrs = scalerAttributes(ref, trigger);
      set('scalerMetricsLatency', attrs, Math.trunc(ms));
      set('scalerMetricsLatencySeconds', attrs, ms / 1000);
    },
    recordScalerError(ref, trigger) {
      count('scalerErrors', scalerAttributes(ref, trigger));
      count('scalerErrorsTotal', {});
      recordObjectError(ref);
    },
    recordObjectError,
    recordLoopLatency(ref, ms) {
      const attrs = { namespace: nameOnly(ref.namespace), type: isJob(ref) ? 'scaledjob' : 'scaledobject', name: nameOnly(ref.name) };
      set('loopLatency', attrs, Math.trunc(ms));
      set('loopLatencySeconds', attrs, ms / 1000);
    },
    recordResourceTotals(namespace, type, n) {
      // KEDA files cluster-scoped resources under `default`
      const attrs = { namespace: nameOnly(namespace || 'default'), type };
      set('resourceTotals', attrs, n);
      set('resourceRegisteredCount', attrs, n);
    },
    recordTriggerTotals(triggerType, n) {
      const attrs = { type: nameOnly(triggerType) };
      set('triggerTotals', attrs, n);
      set('triggerRegisteredCount', attrs, n);
    },
    recordPaused(ref, paused) {
      set('scaledObjectPaused', objectAttributes(ref), paused ? 1 : 0);
    },
    recordHttpRequest(ref, trigger, seconds, status) {
      // KEDA's keys here: the trigger type as `scaler`, the trigger's name ('' when unnamed)
      const scaler = nameOnly(trigger.type);
      const statusCode = status === undefined ? 'error' : String(status);
      count('httpRequests', {
        namespace: nameOnly(ref.namespace), scaled_resource: nameOnly(ref.name), scaler,
        trigger_name: nameOnly(trigger.name ?? ''), metric_name: nameOnly(trigger.metricName), status_code: statusCode,
      });
      observe('httpRequestDuration', { scaler, status_code: statusCode }, seconds);
    },
    recordEmptyResponse(ref, trigger, ignoreNullValues) {
      count('emptyUpstreamResponses', {
        namespace: nameOnly(ref.namespace), scaledResource: nameOnly(ref.name), triggerName: nameOnly(trigger.name ?? ''),
        metricName: nameOnly(trigger.metricName), isScaledObject: !isJob(ref), ignoreNullValues,
      });
    },
    recordReplicas(ref, current, desired) {
      const attrs = objectAttributes(ref);
      set('replicasCurrent', attrs, current);
      set('replicasDesired', attrs, desired);
    },
    recordPass(outcome, seconds) {
      observe('passDuration', { outcome }, seconds);
    },
    recordPassObjects(kind, outcome, n) {
      const attrs = { type: kind === 'ScaledJob' ? 'scaledjob' : 'scaledobject', outcome };
      set('passObjects', attrs, n);
      if (outcome !== 'skipped' && n > 0) count('passEvaluations', attrs, n);
    },
    recordRound(outcome) {
      count('passRounds', { outcome });
    },
  };
}

/** For runs with telemetry switched off (OTEL_SDK_DISABLED, OTEL_METRICS_EXPORTER=none). */
export const noopRecorder: Recorder = {
  recordScalerValue() {},
  recordScalerTarget() {},
  recordScalerActive() {},
  recordScalerLatency() {},
  recordScalerError() {},
  recordObjectError() {},
  recordLoopLatency() {},
  recordResourceTotals() {},
  recordTriggerTotals() {},
  recordPaused() {},
  recordHttpRequest() {},
  recordEmptyResponse() {},
  recordReplicas() {},
  recordPass() {},
  recordPassObjects() {},
  recordRound() {},
};
