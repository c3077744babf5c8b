// The meter provider of one pass: resource, reader, OTLP exporter (http/protobuf, http/json or grpc,
// see ./otlp.ts), and a flush that says whether the data reached the collector.
//
// Temporality and identity — how consecutive passes add up in a backend
// ----------------------------------------------------------------------
// Every pass is a new process, so every counter starts from zero. Counters are exported with
// DELTA temporality: each pass reports what happened in that pass, and the collector's
// `deltatocumulative` processor (or a delta-aware backend) adds passes up into one running total.
// For that sum to land on one series, the stream identity must be the same in every pass:
// service.name (default `scalepass`) plus service.instance.id = a stable id per shard
// (`scalepass-shard-<index>`), never a pod or run id, which would open a new set of series every
// minute. The same reason keeps the process/host detectors out: process.pid and host.name change per
// pod and would become labels behind the Prometheus exporter.
// The Prometheus exporter alone is not enough for delta: it folds a delta into the previous point
// only when the new start time equals the previous point's time, which separate processes never
// produce, so without `deltatocumulative` each pass would replace the last instead of adding to it.
// Keep `max_stale` of that processor above the schedule interval, and run one collector replica
// per stream (its totals live in memory).
// Totals (keda.resource.totals, keda.trigger.totals) are up-down counters and stay CUMULATIVE:
// each pass reports the whole count it saw, the value a gauge-like series should show; the
// Prometheus exporter also refuses non-monotonic delta sums. Gauges are observed once per pass;
// their temporality is not part of OTLP and DELTA only keeps the SDK from repeating old values.
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative switches counters to cumulative
// totals per process (a backend then sees one short series per pass, with a reset each time);
// `lowmemory` equals delta here because all our counters are synchronous.
//
// A short-lived process must flush before it exits. The SDK's forceFlush() and shutdown() resolve
// even when the export failed (the reader hands the error to the global error handler), so the
// exporter is wrapped to observe each ExportResult, and the whole flush is raced against our own
// timer. The OTLP/HTTP exporters retry connection errors and 429/502/503/504 until their timeout;
// the gRPC exporter does not retry and fails the call at its deadline (the same timeout). All
// three report through the same ExportResult, so the loss count holds for each.

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality, InstrumentType, MeterProvider, PeriodicExportingMetricReader,
  type PushMetricExporter, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  defaultResource, detectResources, resourceAttributesEnvDetector, resourceFromAttributes, serviceNameEnvDetector,
  type Resource,
} from '@opentelemetry/resources';
import { METER_NAME } from './instruments.ts';
import { envString, loadOtlpExporter, type Env, metricsEndpoint, otlpProtocol, portMismatch, type OtlpProtocol } from './otlp.ts';
import { createRecorder, noopRecorder, type BuildInfo, type Recorder } from './recorder.ts';

export type TemporalityPreference = 'delta' | 'cumulative' | 'lowmemory';

export interface TelemetryOptions {
  /** service.instance.id: stable per shard, see shardInstanceId() */
  instanceId: string;
  /** service.version and keda.build.info's `version` */
  serviceVersion: string;
  /** keda.build.info's `git_commit` */
  gitCommit?: string;
  /** also emit KEDA's current instrument names (keda.scaledobject.errors, *.seconds, ...) */
  emitCurrentKedaNames?: boolean;
  /**
   * Upper bound for one export including the exporter's retries; the OTLP timeout from the
   * environment is lowered to it so no retry outlives the flush. Pass the configured flush timeout.
   */
  flushTimeoutMs?: number;
  /** replaces the OTLP exporter (tests inspect instruments with the SDK's in-memory exporter) */
  exporter?: PushMetricExporter;
}

/** What to log before the pass: where metrics go and as whom. No header values, no URL credentials. */
export interface TelemetryInfo {
  enabled: boolean;
  /** metrics URL without credentials or query */
  endpoint: string;
  /** the OTLP transport; absent when export is off or an in-process exporter is used */
  protocol?: OtlpProtocol;
  serviceName: string;
  instanceId: string;
  temporality: TemporalityPreference;
  /** configuration we could not honour, one sentence each */
  warnings: string[];
}

/** The outcome of flush(): plain data, ready for a log line or JSON output. */
export interface FlushResult {
  /** every export reached the collector and was accepted, within the time allowed */
  ok: boolean;
  /** why not, when ok is false */
  error?: string;
  /** data points the collector accepted */
  points: number;
  /** data points in exports that failed or had not finished when the time ran out */
  lostPoints: number;
  /** export requests made (one per collection that had data) */
  exports: number;
  durationMs: number;
  endpoint: string;
  /** as in TelemetryInfo */
  protocol?: OtlpProtocol;
}

export interface Telemetry {
  readonly recorder: Recorder;
  readonly info: TelemetryInfo;
  /**
   * forceFlush then shutdown, bounded by timeoutMs; never rejects. Later calls (a SIGTERM during the
   * final flush) return the first call's result. Nothing recorded after it is exported.
   */
  flush(timeoutMs: number): Promise<FlushResult>;
}

const DEFAULT_SERVICE_NAME = 'scalepass';
const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
// Collections happen at flush; the interval only matters if someone sets OTEL_METRIC_EXPORT_INTERVAL.
const DEFAULT_EXPORT_INTERVAL_MS = 3_600_000;
/**
 * Series per instrument before the SDK folds the rest into one `otel.metric.overflow` series. Its
 * default, 2,000, would drop the per-object series of every ScaledObject past the 2,000th; a pass
 * has as many series per instrument as it has objects (times triggers), all of them meant to be seen.
 */
export const CARDINALITY_LIMIT = 1_000_000;
/**
 * Data points per export request: a pass over 10,000 objects holds about 80,000, some 10 MB of
 * protobuf in one request, over the OTLP/gRPC receiver's default 4 MiB message limit. Batches of
 * this many stay near 1 MB.
 */
export const EXPORT_BATCH_POINTS = 8_000;

/** The per-shard service.instance.id: the same in every pass of that shard. */
export function shardInstanceId(shardIndex: number): string {
  return `scalepass-shard-${shardIndex}`;
}



function envPositiveNumber(env: Env, name: string): number | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Reads OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; unset or unknown -> delta. */
export function temporalityPreference(env: Env): { preference: TemporalityPreference; warning?: string } {
  const raw = envString(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')?.toLowerCase();
  if (raw === undefined) return { preference: 'delta' };
  if (raw === 'delta' || raw === 'cumulative' || raw === 'lowmemory') return { preference: raw };
  return {
    preference: 'delta',
    warning: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="${raw}" is not one of delta, cumulative, lowmemory; using delta`,
  };
}

/** The temporality each instrument type is exported with under a preference (see the header). */
export function temporalityFor(preference: TemporalityPreference, type: InstrumentType): AggregationTemporality {
  switch (type) {
    case InstrumentType.COUNTER:
    case InstrumentType.HISTOGRAM:
      return preference === 'cumulative' ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA;
    case InstrumentType.OBSERVABLE_COUNTER:
      return preference === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    case InstrumentType.GAUGE:
    case InstrumentType.OBSERVABLE_GAUGE:
      return AggregationTemporality.DELTA;
    case InstrumentType.UP_DOWN_COUNTER:
    case InstrumentType.OBSERVABLE_UP_DOWN_COUNTER:
      return AggregationTemporality.CUMULATIVE;
  }
}

/** A URL safe to print: no user:password, no query (tokens sometimes travel there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/**
 * service.name: OTEL_SERVICE_NAME > service.name in OTEL_RESOURCE_ATTRIBUTES > `scalepass`.
 * service.instance.id: always the shard id. Environments that inject a per-pod
 * service.instance.id through OTEL_RESOURCE_ATTRIBUTES would otherwise split every pass into
 * new series, which is exactly what the per-shard id prevents.
 */
export function buildResource(instanceId: string, serviceVersion: string): Resource {
  const fromEnv = detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] });
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME, 'service.version': serviceVersion }))
    .merge(fromEnv)
    .merge(resourceFromAttributes({ 'service.instance.id': instanceId }));
}

function countPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const m of scope.metrics) n += m.dataPoints.length;
  return n;
}

/** Readable text for whatever the exporter reports; Node's connection errors may have no message. */
export function describeExportError(error: unknown): string {
  if (error === undefined || error === null) return 'export failed';
  if (typeof error !== 'object') return String(error);
  const e = error as { message?: unknown; code?: unknown; errors?: unknown; data?: unknown; details?: unknown; metadata?: unknown };
  // Node reports a refused connection to a dual-stack name as an AggregateError without a message
  if (!e.message && Array.isArray(e.errors) && e.errors.length > 0) return describeExportError(e.errors[0]);
  // a gRPC status (grpc-js ServiceError): its message is already "<code> <STATUS>: <details>",
  // and its numeric code is a gRPC status, not an HTTP one
  if (typeof e.code === 'number' && typeof e.details === 'string' && e.metadata !== undefined) {
    const text = typeof e.message === 'string' && e.message ? e.message : `${e.code}: ${e.details}`;
    // grpc-js appends an empty "Resolution note: " when name resolution had nothing to add
    return `gRPC ${text.replace(/\s*Resolution note:\s*$/, '')}`;
  }
  const parts: string[] = [];
  if (typeof e.message === 'string' && e.message) parts.push(e.message);
  if (e.code !== undefined && !parts.some((p) => p.includes(String(e.code)))) {
    parts.push(typeof e.code === 'number' ? `HTTP ${e.code}` : String(e.code));
  }
  const head = parts.length > 0 ? parts.join(' ') : 'export failed';
  // the collector's response body says which part of the request it refused
  const body = typeof e.data === 'string' ? e.data.trim().replace(/\s+/g, ' ').slice(0, 200) : '';
  return body ? `${head}: ${body}` : head;
}

interface ExportStats {
  exports: number;
  points: number;
  lostPoints: number;
  pendingPoints: number;
  skipped: number;
  errors: string[];
}

/**
 * Passes exports through and keeps their results. After the flush's first collection it is sealed:
 * a later collection (the one shutdown makes) that holds nothing recorded since then only repeats
 * the cumulative totals just sent, so it is acknowledged without another request. Were the first
 * export refused, repeating it would spend the rest of the timeout on the same answer.
 */
class ObservedExporter implements PushMetricExporter {
  readonly #inner: PushMetricExporter;
  readonly #preference: TemporalityPreference;
  readonly #stats: ExportStats = { exports: 0, points: 0, lostPoints: 0, pendingPoints: 0, skipped: 0, errors: [] };
  #sealedAt: (() => boolean) | undefined;
  #abandoned = false;

  constructor(inner: PushMetricExporter, preference: TemporalityPreference) {
    this.#inner = inner;
    this.#preference = preference;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.#abandoned) {
      // the flush has given up: the reader's next batches are not sent, so they cannot hold the process
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('metrics flush timed out') });
      return;
    }
    if (this.#sealedAt?.()) {
      this.#stats.skipped++;
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    const points = countPoints(metrics);
    const stats = this.#stats;
    stats.exports++;
    stats.pendingPoints += points;
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      stats.pendingPoints -= points;
      if (result.code === ExportResultCode.SUCCESS) stats.points += points;
      else {
        stats.lostPoints += points;
        stats.errors.push(describeExportError(result.error));
      }
      resultCallback(result);
    };
    try {
      this.#inner.export(metrics, done);
    } catch (e) {
      done({ code: ExportResultCode.FAILED, error: e instanceof Error ? e : new Error(String(e)) });
    }
  }

  /** After this, every export fails at once (the flush timed out). */
  abandon(): void {
    this.#abandoned = true;
  }

  /** After this, an export is skipped while `unchanged()` holds. */
  seal(unchanged: () => boolean): void {
    this.#sealedAt = unchanged;
  }

  stats(): Readonly<ExportStats> {
    return this.#stats;
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return temporalityFor(this.#preference, type);
  }
}

/**
 * Stands in for the OTLP exporter while its module loads: the import starts when the telemetry is
 * built, runs alongside the pass, and is awaited by the first export. An exporter that cannot be
 * loaded fails every export, so the flush reports the loss like any other.
 */
class LoadingExporter implements PushMetricExporter {
  readonly #ready: Promise<PushMetricExporter | Error>;

  constructor(load: Promise<PushMetricExporter>) {
    this.#ready = load.catch((e: unknown) => new Error(`could not load the OTLP exporter: ${describeExportError(e)}`));
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    void this.#ready.then((inner) => {
      if (inner instanceof Error) {
        resultCallback({ code: ExportResultCode.FAILED, error: inner });
        return;
      }
      try {
        inner.export(metrics, resultCallback);
      } catch (e) {
        resultCallback({ code: ExportResultCode.FAILED, error: e instanceof Error ? e : new Error(String(e)) });
      }
    });
  }

  async forceFlush(): Promise<void> {
    const inner = await this.#ready;
    if (!(inner instanceof Error)) await inner.forceFlush();
  }

  async shutdown(): Promise<void> {
    const inner = await this.#ready;
    if (!(inner instanceof Error)) await inner.shutdown();
  }
}

/** The endpoint as a log line may show it: no credentials or query; for gRPC no path (it has none). */
function displayEndpoint(protocol: OtlpProtocol, url: string): string {
  const safe = redactUrl(url);
  if (protocol !== 'grpc' || safe === '(invalid URL)') return safe;
  const u = new URL(safe);
  return `${u.protocol}//${u.host}`;
}

function disabledTelemetry(reason: string, instanceId: string): Telemetry {
  const info: TelemetryInfo = {
    enabled: false, endpoint: '', serviceName: '', instanceId, temporality: 'delta', warnings: [`metrics export is off (${reason})`],
  };
  return {
    recorder: noopRecorder,
    info,
    flush: async () => ({ ok: true, points: 0, lostPoints: 0, exports: 0, durationMs: 0, endpoint: '' }),
  };
}

export function createTelemetry(options: TelemetryOptions): Telemetry {
  const env: Env = process.env;
  if (envString(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return disabledTelemetry('OTEL_SDK_DISABLED=true', options.instanceId);
  if (!options.exporter && envString(env, 'OTEL_METRICS_EXPORTER')?.toLowerCase() === 'none') {
    return disabledTelemetry('OTEL_METRICS_EXPORTER=none', options.instanceId);
  }

  const warnings: string[] = [];
  const { preference, warning } = temporalityPreference(env);
  if (warning) warnings.push(warning);
  const chosen = otlpProtocol(env);
  const protocol = options.exporter ? undefined : chosen.protocol;
  if (protocol) warnings.push(...chosen.warnings);
  const metricsExporter = envString(env, 'OTEL_METRICS_EXPORTER');
  if (metricsExporter && !options.exporter && metricsExporter.toLowerCase() !== 'otlp') {
    warnings.push(`OTEL_METRICS_EXPORTER=${metricsExporter} is not supported; exporting over OTLP`);
  }

  const envTimeout = envPositiveNumber(env, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT') ?? envPositiveNumber(env, 'OTEL_EXPORTER_OTLP_TIMEOUT') ?? DEFAULT_EXPORT_TIMEOUT_MS;
  const exportTimeoutMs = Math.max(1, Math.min(envTimeout, options.flushTimeoutMs ?? Infinity));
  const inner = options.exporter ?? new LoadingExporter(loadOtlpExporter(chosen.protocol, exportTimeoutMs));
  const exporter = new ObservedExporter(inner, preference);

  const exportIntervalMillis = envPositiveNumber(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? DEFAULT_EXPORT_INTERVAL_MS;
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis,
    // the reader abandons an export after this; a little above the exporter's own bound
    exportTimeoutMillis: Math.min(exportTimeoutMs + 500, exportIntervalMillis),
    cardinalityLimits: { default: CARDINALITY_LIMIT },
    maxExportBatchSize: EXPORT_BATCH_POINTS,
  });
  const resource = buildResource(options.instanceId, options.serviceVersion);
  const provider = new MeterProvider({ resource, readers: [reader] });
  const build: BuildInfo = { version: options.serviceVersion, gitCommit: options.gitCommit ?? 'unknown' };
  const recorder = createRecorder(provider.getMeter(METER_NAME), {
    emitCurrentKedaNames: options.emitCurrentKedaNames ?? false,
    build,
  });

  const endpoint = protocol ? displayEndpoint(protocol, metricsEndpoint(env, protocol)) : '(in-process exporter)';
  const mismatch = protocol && portMismatch(protocol, endpoint);
  if (mismatch) warnings.push(mismatch);
  const info: TelemetryInfo = {
    enabled: true,
    endpoint,
    ...(protocol ? { protocol } : {}),
    serviceName: String(resource.attributes['service.name']),
    instanceId: options.instanceId,
    temporality: preference,
    warnings,
  };

  let flushing: Promise<FlushResult> | undefined;
  const flush = (timeoutMs: number): Promise<FlushResult> => {
    flushing ??= runFlush(timeoutMs);
    return flushing;
  };

  async function runFlush(timeoutMs: number): Promise<FlushResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let failure: string | undefined;
    const work = (async () => {
      await provider.forceFlush();
      const generation = recorder.generation();
      exporter.seal(() => recorder.generation() === generation);
      await provider.shutdown();
    })().then(
      () => 'done' as const,
      (e: unknown) => {
        failure = describeExportError(e);
        return 'done' as const;
      },
    );
    const outcome = await Promise.race([work, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') exporter.abandon();

    const s = exporter.stats();
    const durationMs = Math.round(performance.now() - started);
    const base = { points: s.points, exports: s.exports, durationMs, endpoint, ...(protocol ? { protocol } : {}) };
    if (outcome === 'timeout') {
      const last = s.errors.at(-1);
      const why = last ? `last export error: ${last}` : s.pendingPoints > 0 ? 'no answer from the collector' : 'export never started';
      return {
        ...base,
        ok: false,
        error: `metrics flush did not finish within ${timeoutMs} ms (${why})`,
        lostPoints: s.lostPoints + s.pendingPoints,
      };
    }
    const error = s.errors[0] ?? failure;
    return error ? { ...base, ok: false, error, lostPoints: s.lostPoints } : { ...base, ok: true, lostPoints: s.lostPoints };
  }

  return { recorder, info, flush };
}

/** One log line for a flush result. */
export function formatFlushResult(r: FlushResult): string {
  const head = r.ok ? 'metrics flushed' : 'metrics NOT flushed';
  const over = r.protocol ? ` over ${r.protocol}` : '';
  const tail = `${r.points} points accepted, ${r.lostPoints} lost, ${r.exports} export(s) in ${r.durationMs} ms to ${r.endpoint || '(disabled)'}${over}`;
  return r.ok ? `${head}: ${tail}` : `${head}: ${r.error ?? 'unknown error'}; ${tail}`;
}
