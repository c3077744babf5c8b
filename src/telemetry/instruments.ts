// The instrument table, declared once: KEDA's OpenTelemetry names, kinds, units, descriptions and
// attribute keys. The recorder creates instruments from this table only, so renaming a metric or
// adding a KEDA name is a one-line change here.
//
// Units: KEDA's millisecond gauges carry no unit, and neither do ours. The collector's Prometheus
// exporter turns a unit into a name suffix (`ms` -> `_milliseconds`), which would rename
// `keda_scaler_metrics_latency` away from what KEDA emits and what dashboards query. Only the
// `*.seconds` instruments carry `s`; their names already end in `seconds`, so no suffix is added.
// scalepass's own instruments (`scalepass.*`) are named in OpenTelemetry's style instead: the unit
// lives in `unit` only (`scalepass.pass.duration` in `s` becomes `scalepass_pass_duration_seconds`),
// counts of things carry an annotation unit (`{replica}`), which the exporter adds no suffix for.

/** sync Counter | observable Gauge | observable UpDownCounter | sync Histogram */
export type InstrumentKind = 'counter' | 'gauge' | 'updowncounter' | 'histogram';

export interface InstrumentSpec {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly valueType: 'int' | 'double';
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly string[];
  /** the attribute keys of a ScaledJob's series, where KEDA gives them other keys than a ScaledObject's */
  readonly scaledJobAttributes?: readonly string[];
  /** KEDA's current name, emitted only when `emitCurrentKedaNames` is on */
  readonly current: boolean;
  /** a histogram's bucket boundaries (its `advice`), in its unit */
  readonly buckets?: readonly number[];
}

/** KEDA's S_SO attribute set: every per-trigger series of a ScaledObject. */
export const SCALER_ATTRIBUTES = ['namespace', 'scaledObject', 'scaler', 'scalerIndex', 'metric'] as const;
export const SCALED_OBJECT_ATTRIBUTES = ['namespace', 'scaledObject'] as const;
/** KEDA's S_SJ attribute set: a ScaledJob's per-trigger series name the index `triggerIndex`. */
export const SCALED_JOB_SCALER_ATTRIBUTES = ['namespace', 'scaledJob', 'scaler', 'triggerIndex', 'metric'] as const;
export const SCALED_JOB_ATTRIBUTES = ['namespace', 'scaledJob'] as const;
export const LOOP_ATTRIBUTES = ['namespace', 'type', 'name'] as const;
export const RESOURCE_TOTALS_ATTRIBUTES = ['namespace', 'type'] as const;
export const TRIGGER_TOTALS_ATTRIBUTES = ['type'] as const;
// KEDA's goversion has no meaning here; `runtime` carries the Node version in Go's shape
// (`node24.21.0` like `go1.24.1`). goos/goarch keep KEDA's keys and Go's values, so
// `keda_build_info{goos="linux"}` matches as it does for KEDA.
export const BUILD_INFO_ATTRIBUTES = ['version', 'git_commit', 'goos', 'goarch', 'runtime'] as const;
/** KEDA's keys for one outbound HTTP request of a scaler (snake_case, unlike its other instruments). */
export const HTTP_REQUEST_ATTRIBUTES = ['namespace', 'scaled_resource', 'scaler', 'trigger_name', 'metric_name', 'status_code'] as const;
/**
 * KEDA's duration histogram keeps only these unless its operator runs with
 * --enable-high-cardinality-metrics-labels (off by default): one series per scaler type and status.
 */
export const HTTP_DURATION_ATTRIBUTES = ['scaler', 'status_code'] as const;
/** KEDA's keys for a query that returned nothing (camelCase again, booleans as booleans). */
export const EMPTY_RESPONSE_ATTRIBUTES = ['namespace', 'scaledResource', 'triggerName', 'metricName', 'isScaledObject', 'ignoreNullValues'] as const;
export const PASS_ATTRIBUTES = ['outcome'] as const;
/** `type` as keda.internal.scale.loop.latency has it: scaledobject, scaledjob */
export const PASS_OBJECTS_ATTRIBUTES = ['type', 'outcome'] as const;

/** KEDA's buckets for keda.scaler.http.request.duration.seconds (its Prometheus histogram's; its
 * OpenTelemetry one takes the SDK's millisecond-sized defaults, which put every request in one bucket). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** A pass takes from well under a second to its deadline (50 s by default) within a one-minute schedule. */
export const PASS_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120] as const;

/** The resource types KEDA counts in keda.resource.totals. */
export type ResourceType =
  | 'scaled_object'
  | 'scaled_job'
  | 'trigger_authentication'
  | 'cluster_trigger_authentication'
  | 'cloudevent_source';

function spec(
  name: string,
  kind: InstrumentKind,
  valueType: 'int' | 'double',
  unit: string,
  description: string,
  attributes: readonly string[],
  current = false,
  buckets?: readonly number[],
): InstrumentSpec {
  const scaledJobAttributes = attributes === SCALER_ATTRIBUTES ? SCALED_JOB_SCALER_ATTRIBUTES : undefined;
  return { name, kind, valueType, unit, description, attributes, ...(scaledJobAttributes ? { scaledJobAttributes } : {}), current, ...(buckets ? { buckets } : {}) };
}

// `keda.scaler.errors` and `keda.scaler.errors.total` both render as `keda_scaler_errors_total`
// behind the collector's Prometheus exporter (dots become underscores and every monotonic counter
// gets `_total`). They stay apart by attributes only: the per-scaler counter always carries the
// five S_SO keys, the grand total carries none. A PromQL `sum(keda_scaler_errors_total)` therefore
// counts every error twice; select the total with `keda_scaler_errors_total{scaler=""}` and the
// per-scaler series with `{scaler!=""}`. Both share one description because the exporter keeps the
// first HELP text it sees for a metric family and logs the other as a conflict.
const ERRORS_DESCRIPTION = 'The number of errors that have occurred for each scaler, and in total for all scalers.';

export const INSTRUMENTS = {
  buildInfo: spec('keda.build.info', 'gauge', 'int', '',
    'Info metric, with static information about the build like: version, git commit and runtime info.',
    BUILD_INFO_ATTRIBUTES),
  scalerActive: spec('keda.scaler.active', 'gauge', 'double', '',
    'This metric marks whether the particular scaler is active (value == 1) or inactive (value == 0).',
    SCALER_ATTRIBUTES),
  scalerMetricsValue: spec('keda.scaler.metrics.value', 'gauge', 'double', '',
    "The current value for each scaler's metric that would be used by the HPA in computing the target average.",
    SCALER_ATTRIBUTES),
  scalerMetricsLatency: spec('keda.scaler.metrics.latency', 'gauge', 'double', '',
    'The latency of retrieving current metric from each scaler, in milliseconds.',
    SCALER_ATTRIBUTES),
  scalerErrors: spec('keda.scaler.errors', 'counter', 'int', '', ERRORS_DESCRIPTION, SCALER_ATTRIBUTES),
  scalerErrorsTotal: spec('keda.scaler.errors.total', 'counter', 'int', '', ERRORS_DESCRIPTION, []),
  scaledObjectErrors: spec('keda.scaled.object.errors', 'counter', 'int', '',
    'The number of errors that have occurred for each ScaledObject.',
    SCALED_OBJECT_ATTRIBUTES),
  // the seed has no ScaledJob counter: KEDA's own name, always emitted (a ScaledJob's only error counter in KEDA)
  scaledJobErrors: spec('keda.scaledjob.errors', 'counter', 'int', '',
    'The number of errors that have occurred for each ScaledJob.',
    SCALED_JOB_ATTRIBUTES),
  resourceTotals: spec('keda.resource.totals', 'updowncounter', 'int', '',
    'Total number of KEDA custom resources per namespace for each custom resource type (CRD).',
    RESOURCE_TOTALS_ATTRIBUTES),
  triggerTotals: spec('keda.trigger.totals', 'updowncounter', 'int', '',
    'Total number of triggers per trigger type.',
    TRIGGER_TOTALS_ATTRIBUTES),
  loopLatency: spec('keda.internal.scale.loop.latency', 'gauge', 'double', '',
    'Total deviation (in milliseconds) between the expected execution time and the actual execution time for the scaling loop.',
    LOOP_ATTRIBUTES),

  scaledObjectErrorsCurrent: spec('keda.scaledobject.errors', 'counter', 'int', '',
    'The number of errors that have occurred for each ScaledObject.',
    SCALED_OBJECT_ATTRIBUTES, true),
  scalerMetricsLatencySeconds: spec('keda.scaler.metrics.latency.seconds', 'gauge', 'double', 's',
    'The latency of retrieving current metric from each scaler.',
    SCALER_ATTRIBUTES, true),
  loopLatencySeconds: spec('keda.internal.scale.loop.latency.seconds', 'gauge', 'double', 's',
    'Total deviation (in seconds) between the expected execution time and the actual execution time for the scaling loop.',
    LOOP_ATTRIBUTES, true),
  resourceRegisteredCount: spec('keda.resource.registered.count', 'updowncounter', 'int', '',
    'Total number of KEDA custom resources per namespace for each custom resource type (CRD) handled by the operator.',
    RESOURCE_TOTALS_ATTRIBUTES, true),
  triggerRegisteredCount: spec('keda.trigger.registered.count', 'updowncounter', 'int', '',
    'Total number of triggers per trigger type handled by the operator.',
    TRIGGER_TOTALS_ATTRIBUTES, true),
  scaledObjectPaused: spec('keda.scaled.object.paused', 'gauge', 'double', '',
    'Indicates whether a ScaledObject is paused (value == 1) or not (value == 0).',
    SCALED_OBJECT_ATTRIBUTES, true),
  // KEDA records these three from its scalers: every metric read's HTTP round trip (the scalers on
  // its shared HTTP client: metrics-api, prometheus, rabbitmq's management API, nats-jetstream...)
  // and the prometheus scaler's empty answers. Descriptions are KEDA's.
  emptyUpstreamResponses: spec('keda.scaler.empty.upstream.responses', 'counter', 'int', '',
    'Number of times a query returns an empty result',
    EMPTY_RESPONSE_ATTRIBUTES, true),
  httpRequests: spec('keda.scaler.http.requests.count', 'counter', 'int', '',
    'Total number of outbound HTTP requests issued during scaler metric collection, labeled by HTTP status code.',
    HTTP_REQUEST_ATTRIBUTES, true),
  httpRequestDuration: spec('keda.scaler.http.request.duration.seconds', 'histogram', 'double', 's',
    'Duration in seconds of outbound HTTP requests issued during scaler metric collection.',
    HTTP_DURATION_ATTRIBUTES, true, HTTP_DURATION_BUCKETS),

  // scalepass's own: what an HPA object and KEDA's operator would otherwise show. Always emitted.
  scalerMetricsTarget: spec('scalepass.scaler.metrics.target', 'gauge', 'double', '',
    "Each scaler's target as the HPA uses it (AverageValue: per replica; Value: the whole metric; Utilization: percent of requests), beside keda.scaler.metrics.value with the same attributes.",
    SCALER_ATTRIBUTES),
  replicasCurrent: spec('scalepass.scaledobject.replicas.current', 'gauge', 'int', '{replica}',
    "Replicas of the ScaledObject's scale target as the pass left it: what the pass wrote, else what it read.",
    SCALED_OBJECT_ATTRIBUTES),
  replicasDesired: spec('scalepass.scaledobject.replicas.desired', 'gauge', 'int', '{replica}',
    'Replicas the pass decided for the ScaledObject (KEDA activation, then the HPA formula and limits).',
    SCALED_OBJECT_ATTRIBUTES),
  passDuration: spec('scalepass.pass.duration', 'histogram', 'double', 's',
    'Duration of a scalepass run from process start to the end of its pass (mode period: of its last round), before the metrics flush, by outcome.',
    PASS_ATTRIBUTES, false, PASS_DURATION_BUCKETS),
  passObjects: spec('scalepass.pass.objects', 'gauge', 'int', '{object}',
    'ScaledObjects and ScaledJobs of this shard in the last pass (mode period: the last round), by outcome: evaluated, skipped (not due), failed.',
    PASS_OBJECTS_ATTRIBUTES),
  passRounds: spec('scalepass.pass.rounds', 'counter', 'int', '{round}',
    'Passes over the shard\'s objects, by outcome: one per run in mode once, one per round (a pollingInterval tick of some object) in mode period.',
    PASS_ATTRIBUTES),
  passEvaluations: spec('scalepass.pass.evaluations', 'counter', 'int', '{evaluation}',
    'Evaluations of ScaledObjects and ScaledJobs over all of a run\'s rounds, by outcome: evaluated, failed (not-due objects are not counted).',
    PASS_OBJECTS_ATTRIBUTES),
} as const satisfies Record<string, InstrumentSpec>;

export type InstrumentKey = keyof typeof INSTRUMENTS;

/** KEDA's meter (instrumentation scope) name, so `otel_scope_name` matches KEDA's series too. */
export const METER_NAME = 'keda-open-telemetry-metrics';

// KEDA labels a trigger without a `name` by the Go type name of its scaler.
const KEDA_SCALER_TYPE_NAMES: Record<string, string> = {
  cron: 'cronScaler',
  'metrics-api': 'metricsAPIScaler',
  'kubernetes-workload': 'kubernetesWorkloadScaler',
  prometheus: 'prometheusScaler',
  redis: 'redisScaler',
  'redis-streams': 'redisStreamsScaler',
  postgresql: 'postgreSQLScaler',
  mysql: 'mySQLScaler',
  rabbitmq: 'rabbitMQScaler',
  'nats-jetstream': 'natsJetStreamScaler',
  external: 'externalScaler',
  etcd: 'etcdScaler',
  cpu: 'cpuMemoryScaler',
  memory: 'cpuMemoryScaler',
};

/** The `scaler` attribute KEDA uses for an unnamed trigger of this type. */
export function kedaScalerTypeName(triggerType: string): string {
  const known = KEDA_SCALER_TYPE_NAMES[triggerType];
  if (known) return known;
  const camel = triggerType.replace(/[-_.]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  return `${camel}Scaler`;
}

/** Go's GOARCH for Node's process.arch, so build info reads as KEDA's does. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return map[nodeArch] ?? nodeArch;
}
