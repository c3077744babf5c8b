// The instrument table as seen through the recorder, collected by the SDK's in-memory exporter:
// names, units, kinds, attribute keys and temporality. The OTLP path is tested against real
// sockets in test/integration/telemetry-export-failure.test.ts.

import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  AggregationTemporality, DataPointType, InMemoryMetricExporter, InstrumentType, type MetricData,
} from '@opentelemetry/sdk-metrics';
import { INSTRUMENTS, kedaScalerTypeName, METER_NAME, type InstrumentSpec } from '../../src/telemetry/instruments.ts';
import {
  buildResource, createTelemetry, EXPORT_BATCH_POINTS, describeExportError, formatFlushResult, redactUrl,
  shardInstanceId, temporalityFor, temporalityPreference, type Telemetry,
} from '../../src/telemetry/provider.ts';
import { metricsEndpoint, otlpProtocol, portMismatch, type OtlpProtocol } from '../../src/telemetry/otlp.ts';
import { nameOnly, type ScaledObjectRef, type ScaledResourceRef, type TriggerRef } from '../../src/telemetry/recorder.ts';

const so: ScaledObjectRef = { namespace: 'shop', name: 'orders-so' };
const sj: ScaledResourceRef = { kind: 'ScaledJob', namespace: 'shop', name: 'orders-sj' };
const named: TriggerRef = { index: 0, type: 'redis', name: 'orders-queue', metricName: 's0-redis-orders' };
const unnamed: TriggerRef = { index: 1, type: 'kubernetes-workload', metricName: 's1-workload-shop' };

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

function telemetry(emitCurrentKedaNames: boolean): { t: Telemetry; exporter: InMemoryMetricExporter } {
  // the in-memory exporter's own temporality is ignored: the provider's selector decides
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const t = createTelemetry({ instanceId: shardInstanceId(3), serviceVersion: '1.2.3', gitCommit: 'abc123', emitCurrentKedaNames, exporter });
  return { t, exporter };
}

function recordEverything(t: Telemetry): void {
  const r = t.recorder;
  r.recordScalerValue(so, named, 7);
  r.recordScalerTarget(so, named, 5);
  r.recordScalerActive(so, named, true);
  r.recordScalerLatency(so, named, 12.7);
  r.recordScalerError(so, unnamed);
  r.recordObjectError(so);
  r.recordLoopLatency(so, 1520);
  r.recordResourceTotals('shop', 'scaled_object', 4);
  r.recordResourceTotals('', 'cluster_trigger_authentication', 1);
  r.recordTriggerTotals('redis', 3);
  r.recordPaused(so, true);
  r.recordScalerValue(sj, named, 3);
  r.recordScalerTarget(sj, named, 1);
  r.recordScalerActive(sj, named, true);
  r.recordScalerLatency(sj, named, 4.2);
  r.recordScalerError(sj, unnamed);
  r.recordLoopLatency(sj, 800);
  r.recordResourceTotals('shop', 'scaled_job', 2);
  r.recordHttpRequest(so, named, 0.042, 200);
  r.recordHttpRequest(so, named, 0.3, 200);
  r.recordHttpRequest(so, unnamed, 1.5, undefined);
  r.recordHttpRequest(sj, named, 0.007, 404);
  r.recordEmptyResponse(so, named, true);
  r.recordEmptyResponse(sj, unnamed, false);
  r.recordReplicas(so, 4, 4);
  r.recordPass('partial_failure', 2.5);
  r.recordPassObjects('ScaledObject', 'evaluated', 3);
  r.recordPassObjects('ScaledObject', 'failed', 1);
  r.recordPassObjects('ScaledJob', 'skipped', 2);
  r.recordRound('partial_failure');
}

async function collect(emitCurrentKedaNames: boolean): Promise<{ metrics: Map<string, MetricData>; exports: number; scope: string[]; t: Telemetry; resource: Record<string, unknown> }> {
  const { t, exporter } = telemetry(emitCurrentKedaNames);
  recordEverything(t);
  const result = await t.flush(5000);
  assert.equal(result.ok, true, result.error);
  const exported = exporter.getMetrics();
  const metrics = new Map<string, MetricData>();
  const scope: string[] = [];
  for (const rm of exported) for (const sm of rm.scopeMetrics) {
    scope.push(sm.scope.name);
    for (const m of sm.metrics) metrics.set(m.descriptor.name, m);
  }
  const resource = exported[0] ? { ...exported[0].resource.attributes } : {};
  return { metrics, exports: exported.length, scope, t, resource };
}

const seedNames = [
  'keda.build.info', 'keda.scaler.active', 'keda.scaler.metrics.value', 'keda.scaler.metrics.latency',
  'keda.scaler.errors', 'keda.scaler.errors.total', 'keda.scaled.object.errors', 'keda.resource.totals',
  'keda.trigger.totals', 'keda.internal.scale.loop.latency',
  // not on the seed page, which has no ScaledJob counter: KEDA's own name, emitted by default
  'keda.scaledjob.errors',
];
const currentNames = [
  'keda.scaledobject.errors', 'keda.scaler.metrics.latency.seconds', 'keda.internal.scale.loop.latency.seconds',
  'keda.resource.registered.count', 'keda.trigger.registered.count', 'keda.scaled.object.paused',
  'keda.scaler.empty.upstream.responses', 'keda.scaler.http.requests.count', 'keda.scaler.http.request.duration.seconds',
];
// scalepass's own, always emitted: what no HPA object shows
const ownNames = ['scalepass.scaler.metrics.target', 'scalepass.scaledobject.replicas.current', 'scalepass.scaledobject.replicas.desired', 'scalepass.pass.duration', 'scalepass.pass.objects', 'scalepass.pass.rounds', 'scalepass.pass.evaluations'];
const defaultNames = [...seedNames, ...ownNames];
const specs = Object.values(INSTRUMENTS) as InstrumentSpec[];

describe('instrument table', () => {
  it('declares exactly the seed names, KEDA current names and scalepass\'s own, each once', () => {
    assert.deepEqual(specs.filter((s) => !s.current).map((s) => s.name).sort(), [...defaultNames].sort());
    assert.deepEqual(specs.filter((s) => s.current).map((s) => s.name).sort(), [...currentNames].sort());
  });

  it("declares KEDA's HTTP and empty-response instruments with KEDA's kinds, units and attribute keys", () => {
    assert.deepEqual([INSTRUMENTS.httpRequests.kind, INSTRUMENTS.httpRequests.unit], ['counter', '']);
    assert.deepEqual([...INSTRUMENTS.httpRequests.attributes], ['namespace', 'scaled_resource', 'scaler', 'trigger_name', 'metric_name', 'status_code']);
    assert.deepEqual([INSTRUMENTS.httpRequestDuration.kind, INSTRUMENTS.httpRequestDuration.unit], ['histogram', 's']);
    assert.deepEqual([...INSTRUMENTS.httpRequestDuration.attributes], ['scaler', 'status_code']);
    assert.deepEqual([...INSTRUMENTS.httpRequestDuration.buckets!], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    assert.deepEqual([INSTRUMENTS.emptyUpstreamResponses.kind, INSTRUMENTS.emptyUpstreamResponses.unit], ['counter', '']);
    assert.deepEqual([...INSTRUMENTS.emptyUpstreamResponses.attributes], ['namespace', 'scaledResource', 'triggerName', 'metricName', 'isScaledObject', 'ignoreNullValues']);
  });

  it('keeps the two errors counters apart by attributes: the total has no per-scaler keys', () => {
    assert.deepEqual([...INSTRUMENTS.scalerErrors.attributes], ['namespace', 'scaledObject', 'scaler', 'scalerIndex', 'metric']);
    assert.deepEqual([...INSTRUMENTS.scalerErrorsTotal.attributes], []);
  });

  it('names an unnamed trigger by KEDA scaler type name', () => {
    assert.equal(kedaScalerTypeName('kubernetes-workload'), 'kubernetesWorkloadScaler');
    assert.equal(kedaScalerTypeName('postgresql'), 'postgreSQLScaler');
    assert.equal(kedaScalerTypeName('some-new-thing'), 'someNewThingScaler');
  });
});

describe('recorder through the SDK', () => {
  it('emits the seed instruments and scalepass\'s own with their units, descriptions and attribute keys, and no current names by default', async () => {
    const { metrics, scope } = await collect(false);
    assert.deepEqual([...new Set(scope)], [METER_NAME]);
    assert.deepEqual([...metrics.keys()].sort(), [...defaultNames].sort());
    for (const s of specs.filter((x) => !x.current)) {
      const m = metrics.get(s.name)!;
      assert.equal(m.descriptor.unit, s.unit, `${s.name} unit`);
      assert.equal(m.descriptor.description, s.description, `${s.name} description`);
      for (const dp of m.dataPoints) {
        const keys = Object.keys(dp.attributes).sort();
        const allowed = [s.attributes, s.scaledJobAttributes ?? s.attributes].map((a) => [...a].sort());
        assert.ok(allowed.some((a) => JSON.stringify(a) === JSON.stringify(keys)), `${s.name} attribute keys ${keys.join(',')}`);
      }
    }
  });

  it('emits the current KEDA names too when switched on, with seconds in `s`', async () => {
    const { metrics } = await collect(true);
    assert.deepEqual([...metrics.keys()].sort(), [...defaultNames, ...currentNames].sort());
    assert.equal(metrics.get('keda.scaler.metrics.latency.seconds')!.descriptor.unit, 's');
    assert.equal(metrics.get('keda.scaler.metrics.latency.seconds')!.dataPoints[0]!.value, 0.0127);
    assert.equal(metrics.get('keda.internal.scale.loop.latency.seconds')!.dataPoints[0]!.value, 1.52);
    assert.equal(metrics.get('keda.scaled.object.paused')!.dataPoints[0]!.value, 1);
    assert.equal(metrics.get('keda.scaledobject.errors')!.dataPoints[0]!.value, 2);
  });

  it('reports counters as delta sums, histograms as delta histograms, totals as cumulative sums and the rest as gauges', async () => {
    const { metrics } = await collect(true);
    for (const s of specs) {
      const m = metrics.get(s.name)!;
      if (s.kind === 'histogram') {
        assert.equal(m.dataPointType, DataPointType.HISTOGRAM, s.name);
        assert.equal(m.aggregationTemporality, AggregationTemporality.DELTA, s.name);
      } else if (s.kind === 'counter') {
        assert.equal(m.dataPointType, DataPointType.SUM, s.name);
        assert.equal(m.aggregationTemporality, AggregationTemporality.DELTA, s.name);
        assert.equal(m.dataPointType === DataPointType.SUM && m.isMonotonic, true, s.name);
      } else if (s.kind === 'updowncounter') {
        assert.equal(m.dataPointType, DataPointType.SUM, s.name);
        assert.equal(m.aggregationTemporality, AggregationTemporality.CUMULATIVE, s.name);
        assert.equal(m.dataPointType === DataPointType.SUM && m.isMonotonic, false, s.name);
      } else {
        assert.equal(m.dataPointType, DataPointType.GAUGE, s.name);
      }
    }
  });

  it('records KEDA attribute values: trigger name or Go type name as scaler, index as a string, ms truncated', async () => {
    const { metrics } = await collect(false);
    assert.deepEqual(metrics.get('keda.scaler.metrics.value')!.dataPoints[0]!.attributes,
      { namespace: 'shop', scaledObject: 'orders-so', scaler: 'orders-queue', scalerIndex: '0', metric: 's0-redis-orders' });
    assert.equal(metrics.get('keda.scaler.metrics.latency')!.dataPoints[0]!.value, 12);
    assert.equal(metrics.get('keda.scaler.active')!.dataPoints[0]!.value, 1);
    assert.deepEqual(metrics.get('keda.scaler.errors')!.dataPoints[0]!.attributes,
      { namespace: 'shop', scaledObject: 'orders-so', scaler: 'kubernetesWorkloadScaler', scalerIndex: '1', metric: 's1-workload-shop' });
    assert.deepEqual(metrics.get('keda.internal.scale.loop.latency')!.dataPoints[0]!.attributes, { namespace: 'shop', type: 'scaledobject', name: 'orders-so' });
    assert.equal(metrics.get('keda.internal.scale.loop.latency')!.dataPoints[0]!.value, 1520);
  });

  it('counts a scaler error on the scaler, the grand total and its ScaledObject', async () => {
    const { metrics } = await collect(false);
    assert.equal(metrics.get('keda.scaler.errors')!.dataPoints[0]!.value, 1);
    // the ScaledObject's and the ScaledJob's failed read
    assert.deepEqual(metrics.get('keda.scaler.errors.total')!.dataPoints.map((d) => [d.attributes, d.value]), [[{}, 2]]);
    // one via the scaler error, one recorded directly
    assert.deepEqual(metrics.get('keda.scaled.object.errors')!.dataPoints.map((d) => [d.attributes, d.value]),
      [[{ namespace: 'shop', scaledObject: 'orders-so' }, 2]]);
  });

  it("records a ScaledJob's series with KEDA's ScaledJob keys: scaledJob and triggerIndex, errors on keda.scaledjob.errors, loop type scaledjob", async () => {
    const { metrics } = await collect(true);
    const ofJob = (name: string) => metrics.get(name)!.dataPoints.filter((d) => d.attributes['scaledJob'] === 'orders-sj');
    const attrs = { namespace: 'shop', scaledJob: 'orders-sj', scaler: 'orders-queue', triggerIndex: '0', metric: 's0-redis-orders' };
    assert.deepEqual(ofJob('keda.scaler.metrics.value').map((d) => [d.attributes, d.value]), [[attrs, 3]]);
    assert.deepEqual(ofJob('keda.scaler.active').map((d) => [d.attributes, d.value]), [[attrs, 1]]);
    assert.deepEqual(ofJob('keda.scaler.metrics.latency').map((d) => d.value), [4]);
    assert.deepEqual(ofJob('keda.scaler.errors').map((d) => d.attributes),
      [{ namespace: 'shop', scaledJob: 'orders-sj', scaler: 'kubernetesWorkloadScaler', triggerIndex: '1', metric: 's1-workload-shop' }]);
    assert.deepEqual(metrics.get('keda.scaledjob.errors')!.dataPoints.map((d) => [d.attributes, d.value]), [[{ namespace: 'shop', scaledJob: 'orders-sj' }, 1]]);
    // a ScaledJob's error is not a ScaledObject's, under either name
    for (const n of ['keda.scaled.object.errors', 'keda.scaledobject.errors']) {
      assert.ok(metrics.get(n)!.dataPoints.every((d) => d.attributes['scaledObject'] === 'orders-so' && !('scaledJob' in d.attributes)), n);
    }
    const loop = metrics.get('keda.internal.scale.loop.latency')!.dataPoints.map((d) => [d.attributes, d.value]);
    assert.deepEqual(loop, [[{ namespace: 'shop', type: 'scaledobject', name: 'orders-so' }, 1520], [{ namespace: 'shop', type: 'scaledjob', name: 'orders-sj' }, 800]]);
    assert.ok(metrics.get('keda.scaled.object.paused')!.dataPoints.every((d) => !('scaledJob' in d.attributes)), 'KEDA has no paused gauge for ScaledJobs');
  });

  it('files cluster-scoped resources under namespace `default` and reports the count as is', async () => {
    const { metrics } = await collect(false);
    const rows = metrics.get('keda.resource.totals')!.dataPoints.map((d) => [d.attributes['namespace'], d.attributes['type'], d.value]).sort();
    assert.deepEqual(rows, [['default', 'cluster_trigger_authentication', 1], ['shop', 'scaled_job', 2], ['shop', 'scaled_object', 4]]);
    assert.deepEqual(metrics.get('keda.trigger.totals')!.dataPoints.map((d) => [d.attributes, d.value]), [[{ type: 'redis' }, 3]]);
  });

  it('reports build info with KEDA keys and Go-style values', async () => {
    const { metrics } = await collect(false);
    const dp = metrics.get('keda.build.info')!.dataPoints[0]!;
    assert.equal(dp.value, 1);
    assert.equal(dp.attributes['version'], '1.2.3');
    assert.equal(dp.attributes['git_commit'], 'abc123');
    assert.equal(dp.attributes['goos'], process.platform);
    assert.match(String(dp.attributes['goarch']), /^(amd64|arm64|386|arm|ppc64le|s390x|riscv64|loong64|\w+)$/);
    assert.equal(dp.attributes['runtime'], `node${process.versions.node}`);
  });

  it("counts HTTP requests with KEDA's keys: the trigger type as scaler, the trigger name ('' unnamed), the status or `error`", async () => {
    const { metrics } = await collect(true);
    const rows = metrics.get('keda.scaler.http.requests.count')!.dataPoints.map((d) => [d.attributes, d.value]);
    assert.deepEqual(rows, [
      [{ namespace: 'shop', scaled_resource: 'orders-so', scaler: 'redis', trigger_name: 'orders-queue', metric_name: 's0-redis-orders', status_code: '200' }, 2],
      [{ namespace: 'shop', scaled_resource: 'orders-so', scaler: 'kubernetes-workload', trigger_name: '', metric_name: 's1-workload-shop', status_code: 'error' }, 1],
      [{ namespace: 'shop', scaled_resource: 'orders-sj', scaler: 'redis', trigger_name: 'orders-queue', metric_name: 's0-redis-orders', status_code: '404' }, 1],
    ]);
  });

  it("puts HTTP request durations in KEDA's second buckets, one series per scaler type and status", async () => {
    const { metrics } = await collect(true);
    const m = metrics.get('keda.scaler.http.request.duration.seconds')!;
    assert.equal(m.descriptor.unit, 's');
    const points = m.dataPoints.map((d) => {
      const v = d.value as { count: number; sum?: number; buckets: { boundaries: number[]; counts: number[] } };
      return { attrs: d.attributes, count: v.count, sum: v.sum, boundaries: v.buckets.boundaries, counts: v.buckets.counts };
    });
    assert.deepEqual(points.map((p) => [p.attrs, p.count]), [
      [{ scaler: 'redis', status_code: '200' }, 2],
      [{ scaler: 'kubernetes-workload', status_code: 'error' }, 1],
      [{ scaler: 'redis', status_code: '404' }, 1],
    ]);
    const ok = points[0]!;
    assert.ok(Math.abs(ok.sum! - 0.342) < 1e-9, String(ok.sum));
    assert.deepEqual(ok.boundaries, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    // 0.042 s in (0.025, 0.05], 0.3 s in (0.25, 0.5]
    assert.deepEqual(ok.counts, [0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]);
  });

  it("counts empty answers with KEDA's keys, the resource's kind and ignoreNullValues as booleans", async () => {
    const { metrics } = await collect(true);
    assert.deepEqual(metrics.get('keda.scaler.empty.upstream.responses')!.dataPoints.map((d) => [d.attributes, d.value]), [
      [{ namespace: 'shop', scaledResource: 'orders-so', triggerName: 'orders-queue', metricName: 's0-redis-orders', isScaledObject: true, ignoreNullValues: true }, 1],
      [{ namespace: 'shop', scaledResource: 'orders-sj', triggerName: '', metricName: 's1-workload-shop', isScaledObject: false, ignoreNullValues: false }, 1],
    ]);
  });

  it('reports current and desired replicas per ScaledObject, the pass duration by outcome and its objects by kind and outcome', async () => {
    const { metrics } = await collect(false);
    const attrs = { namespace: 'shop', scaledObject: 'orders-so' };
    assert.deepEqual(metrics.get('scalepass.scaledobject.replicas.current')!.dataPoints.map((d) => [d.attributes, d.value]), [[attrs, 4]]);
    assert.deepEqual(metrics.get('scalepass.scaledobject.replicas.desired')!.dataPoints.map((d) => [d.attributes, d.value]), [[attrs, 4]]);
    assert.equal(metrics.get('scalepass.scaledobject.replicas.current')!.descriptor.unit, '{replica}');
    const pass = metrics.get('scalepass.pass.duration')!;
    assert.equal(pass.descriptor.unit, 's');
    const dp = pass.dataPoints[0]!;
    const v = dp.value as { count: number; sum?: number; buckets: { boundaries: number[]; counts: number[] } };
    assert.deepEqual([dp.attributes, v.count, v.sum], [{ outcome: 'partial_failure' }, 1, 2.5]);
    assert.deepEqual(v.buckets.boundaries, [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120]);
    assert.deepEqual(metrics.get('scalepass.pass.objects')!.dataPoints.map((d) => [d.attributes, d.value]), [
      [{ type: 'scaledobject', outcome: 'evaluated' }, 3],
      [{ type: 'scaledobject', outcome: 'failed' }, 1],
      [{ type: 'scaledjob', outcome: 'skipped' }, 2],
    ]);
  });

  it('counts rounds by outcome and evaluations over every round (a period-mode run), while scalepass.pass.objects keeps the last round', async () => {
    const { t, exporter } = telemetry(false);
    const r = t.recorder;
    r.recordPassObjects('ScaledObject', 'evaluated', 3);
    r.recordPassObjects('ScaledObject', 'skipped', 1);
    r.recordRound('success');
    r.recordPassObjects('ScaledObject', 'evaluated', 1);
    r.recordPassObjects('ScaledObject', 'failed', 1);
    r.recordPassObjects('ScaledObject', 'skipped', 3);
    r.recordRound('partial_failure');
    r.recordPassObjects('ScaledObject', 'evaluated', 2);
    r.recordPassObjects('ScaledObject', 'failed', 0);
    r.recordPassObjects('ScaledObject', 'skipped', 2);
    r.recordRound('success');
    await t.flush(5000);
    const all = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const points = (name: string) => all.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints.map((d) => [d.attributes, d.value]));
    assert.deepEqual(points('scalepass.pass.rounds'), [[{ outcome: 'success' }, 2], [{ outcome: 'partial_failure' }, 1]]);
    assert.deepEqual(points('scalepass.pass.evaluations'), [[{ type: 'scaledobject', outcome: 'evaluated' }, 6], [{ type: 'scaledobject', outcome: 'failed' }, 1]]);
    assert.deepEqual(points('scalepass.pass.objects'), [
      [{ type: 'scaledobject', outcome: 'evaluated' }, 2], [{ type: 'scaledobject', outcome: 'skipped' }, 2], [{ type: 'scaledobject', outcome: 'failed' }, 0],
    ]);
  });

  it('drops a negative or non-finite duration instead of exporting it', async () => {
    const { t, exporter } = telemetry(true);
    t.recorder.recordPass('success', -1);
    t.recorder.recordPass('success', Number.NaN);
    t.recorder.recordHttpRequest(so, named, Number.POSITIVE_INFINITY, 200);
    await t.flush(5000);
    const names = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name)));
    assert.ok(!names.includes('scalepass.pass.duration'), names.join(','));
    assert.ok(!names.includes('keda.scaler.http.request.duration.seconds'));
    assert.ok(names.includes('keda.scaler.http.requests.count'), 'the request itself still counts');
  });

  it('keeps only the last value per series and drops values JSON cannot carry', async () => {
    const { t, exporter } = telemetry(false);
    t.recorder.recordScalerValue(so, named, 1);
    t.recorder.recordScalerValue(so, named, 5);
    t.recorder.recordScalerValue(so, unnamed, Number.NaN);
    t.recorder.recordScalerValue(so, unnamed, Number.POSITIVE_INFINITY);
    await t.flush(5000);
    const m = exporter.getMetrics()[0]!.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'keda.scaler.metrics.value')!;
    assert.deepEqual(m.dataPoints.map((d) => d.value), [5]);
  });

  it('sends one export per pass: the shutdown collection only repeats accepted totals', async () => {
    const { exports, t } = await collect(false);
    assert.equal(exports, 1);
    const again = await t.flush(5000);
    assert.equal(again.exports, 1);
    assert.equal(again.ok, true);
  });

  it('counts accepted points in the flush result', async () => {
    const { t, exporter } = telemetry(false);
    recordEverything(t);
    const r = await t.flush(5000);
    const total = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.dataPoints.length))).reduce((a, b) => a + b, 0);
    assert.equal(r.points, total);
    assert.equal(r.lostPoints, 0);
    assert.match(formatFlushResult(r), new RegExp(`^metrics flushed: ${total} points accepted, 0 lost, 1 export\\(s\\)`));
  });

  it('records nothing and flushes ok when OTEL_SDK_DISABLED=true', async () => {
    process.env['OTEL_SDK_DISABLED'] = 'true';
    const { t } = telemetry(false);
    recordEverything(t);
    assert.equal(t.info.enabled, false);
    assert.deepEqual(await t.flush(100), { ok: true, points: 0, lostPoints: 0, exports: 0, durationMs: 0, endpoint: '' });
  });
});

describe('resource identity', () => {
  it('is scalepass + the shard id + version by default, with no per-process attributes', () => {
    delete process.env['OTEL_SERVICE_NAME'];
    delete process.env['OTEL_RESOURCE_ATTRIBUTES'];
    const attrs = buildResource(shardInstanceId(0), '0.1.0').attributes;
    assert.equal(attrs['service.name'], 'scalepass');
    assert.equal(attrs['service.instance.id'], 'scalepass-shard-0');
    assert.equal(attrs['service.version'], '0.1.0');
    assert.equal(attrs['process.pid'], undefined);
    assert.equal(attrs['host.name'], undefined);
  });

  it('takes the service name from OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES, and keeps the shard id over an injected one', () => {
    process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'service.name=from-attrs,service.instance.id=pod-xyz,deployment.environment.name=prod';
    process.env['OTEL_SERVICE_NAME'] = 'autoscaler';
    const attrs = buildResource('scalepass-shard-2', '0.1.0').attributes;
    assert.equal(attrs['service.name'], 'autoscaler');
    assert.equal(attrs['service.instance.id'], 'scalepass-shard-2');
    assert.equal(attrs['deployment.environment.name'], 'prod');
    delete process.env['OTEL_SERVICE_NAME'];
    assert.equal(buildResource('x', '0').attributes['service.name'], 'from-attrs');
  });

  it('is what the exporter sees', async () => {
    const { resource } = await collect(false);
    assert.equal(resource['service.instance.id'], 'scalepass-shard-3');
    assert.equal(resource['service.version'], '1.2.3');
  });
});

describe('temporality', () => {
  const cases: [string, Parameters<typeof temporalityFor>[0], InstrumentType, AggregationTemporality][] = [
    ['delta: counters are delta', 'delta', InstrumentType.COUNTER, AggregationTemporality.DELTA],
    ['delta: up-down counters stay cumulative', 'delta', InstrumentType.OBSERVABLE_UP_DOWN_COUNTER, AggregationTemporality.CUMULATIVE],
    ['delta: gauges observe only this pass', 'delta', InstrumentType.OBSERVABLE_GAUGE, AggregationTemporality.DELTA],
    ['cumulative: counters are cumulative', 'cumulative', InstrumentType.COUNTER, AggregationTemporality.CUMULATIVE],
    ['cumulative: gauges still observe only this pass', 'cumulative', InstrumentType.OBSERVABLE_GAUGE, AggregationTemporality.DELTA],
    ['lowmemory: sync counters are delta', 'lowmemory', InstrumentType.COUNTER, AggregationTemporality.DELTA],
    ['lowmemory: up-down counters stay cumulative', 'lowmemory', InstrumentType.UP_DOWN_COUNTER, AggregationTemporality.CUMULATIVE],
  ];
  for (const [name, pref, type, want] of cases) it(name, () => assert.equal(temporalityFor(pref, type), want));

  it('defaults to delta and follows OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', () => {
    assert.deepEqual(temporalityPreference({}), { preference: 'delta' });
    assert.deepEqual(temporalityPreference({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Cumulative' }), { preference: 'cumulative' });
    const bad = temporalityPreference({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'weekly' });
    assert.equal(bad.preference, 'delta');
    assert.match(bad.warning!, /OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="weekly"/);
  });

  it('switches the exported counters to cumulative when the environment asks', async () => {
    process.env['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE'] = 'cumulative';
    const { metrics, t } = await collect(false);
    assert.equal(t.info.temporality, 'cumulative');
    assert.equal(metrics.get('keda.scaler.errors')!.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  });
});

describe('OTLP protocol', () => {
  const cases: [string, Record<string, string>, OtlpProtocol, RegExp | undefined][] = [
    ['unset: http/protobuf, the specification\'s default', {}, 'http/protobuf', undefined],
    ['blank counts as unset', { OTEL_EXPORTER_OTLP_PROTOCOL: '  ' }, 'http/protobuf', undefined],
    ['OTEL_EXPORTER_OTLP_PROTOCOL=http/json', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'http/json', undefined],
    ['OTEL_EXPORTER_OTLP_PROTOCOL=grpc, as KEDA reads it', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'grpc', undefined],
    ['the metrics variable wins over the general one', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }, 'http/json', undefined],
    ['values are read without regard to case', { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'GRPC' }, 'grpc', undefined],
    ['an unknown value warns, naming the variable, and falls back to the default', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http' },
      'http/protobuf', /^OTEL_EXPORTER_OTLP_PROTOCOL="http" is not one of http\/protobuf, http\/json, grpc; using http\/protobuf$/],
    ['an unknown metrics value falls back to the general variable', { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'thrift', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'grpc', /^OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="thrift" is not one of .*; using grpc \(from OTEL_EXPORTER_OTLP_PROTOCOL\)$/],
  ];
  for (const [name, env, want, warning] of cases) {
    it(name, () => {
      const r = otlpProtocol(env);
      assert.equal(r.protocol, want);
      if (warning) {
        assert.equal(r.warnings.length, 1);
        assert.match(r.warnings[0]!, warning);
      } else assert.deepEqual(r.warnings, []);
    });
  }

  it('is reported in the telemetry info, with the warning', () => {
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/xml';
    const t = createTelemetry({ instanceId: shardInstanceId(0), serviceVersion: '0' });
    assert.equal(t.info.protocol, 'http/protobuf');
    assert.ok(t.info.warnings.some((w) => w.startsWith('OTEL_EXPORTER_OTLP_PROTOCOL="http/xml"')), t.info.warnings.join('; '));
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'grpc';
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://u:pw@otel:4317/ignored?token=x';
    const g = createTelemetry({ instanceId: shardInstanceId(0), serviceVersion: '0' });
    assert.equal(g.info.protocol, 'grpc');
    assert.equal(g.info.endpoint, 'http://otel:4317', 'no credentials, no path or query: gRPC has none');
    assert.deepEqual(g.info.warnings, []);
  });
});

describe('endpoint and error text', () => {
  const endpoints: [string, OtlpProtocol, Record<string, string>, string][] = [
    ['http default', 'http/protobuf', {}, 'http://localhost:4318/v1/metrics'],
    ['http appends v1/metrics to the base endpoint', 'http/protobuf', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }, 'http://otel:4318/v1/metrics'],
    ['http keeps a base path', 'http/json', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/otlp/' }, 'https://otel.example/otlp/v1/metrics'],
    ['http takes the metrics endpoint as is', 'http/json', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:1/x' }, 'http://m:1/x'],
    ['grpc default', 'grpc', {}, 'http://localhost:4317'],
    ['grpc takes the base endpoint as is, no /v1/metrics', 'grpc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4317' }, 'http://otel:4317'],
    ['grpc: the metrics endpoint wins', 'grpc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4317', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://m:443' }, 'https://m:443'],
    ['grpc without a scheme is TLS', 'grpc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317' }, 'https://otel:4317'],
    ['grpc without a scheme and OTEL_EXPORTER_OTLP_INSECURE=true is plaintext', 'grpc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317', OTEL_EXPORTER_OTLP_INSECURE: 'TRUE' }, 'http://otel:4317'],
    ['grpc: the metrics INSECURE variable wins', 'grpc', { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4317', OTEL_EXPORTER_OTLP_INSECURE: 'true', OTEL_EXPORTER_OTLP_METRICS_INSECURE: 'false' }, 'https://otel:4317'],
  ];
  for (const [name, protocol, env, want] of endpoints) it(`resolves the metrics endpoint like the exporter: ${name}`, () => assert.equal(metricsEndpoint(env, protocol), want));

  it('warns when the port is the other transport\'s conventional port', () => {
    assert.match(portMismatch('grpc', 'http://otel:4318')!, /4318.*OTLP\/HTTP.*grpc/);
    assert.match(portMismatch('http/protobuf', 'http://otel:4317/v1/metrics')!, /4317.*OTLP\/gRPC.*OTEL_EXPORTER_OTLP_PROTOCOL=grpc/);
    assert.equal(portMismatch('grpc', 'http://otel:4317'), undefined);
    assert.equal(portMismatch('http/json', 'http://otel:4318/v1/metrics'), undefined);
  });

  it('never prints URL credentials or query strings', () => {
    assert.equal(redactUrl('https://user:s3cret@otel.example:4318/v1/metrics?token=abc'), 'https://otel.example:4318/v1/metrics');
  });

  it('keeps secrets out of attribute values that embed a URL, and bounds their length', () => {
    assert.equal(nameOnly('s0-metric-api-http://u:pw@host/x'), 's0-metric-api-http://***@host/x');
    assert.equal(nameOnly('x'.repeat(300)).length, 253);
  });

  it('describes exporter errors, including a refused dual-stack connect without a message', () => {
    const refused = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' });
    assert.equal(describeExportError(refused), 'connect ECONNREFUSED 127.0.0.1:9');
    assert.equal(describeExportError(Object.assign(new Error('Bad Request'), { code: 400, data: '{"code":3,\n "message":"bad"}' })), 'Bad Request HTTP 400: {"code":3, "message":"bad"}');
  });

  it('describes a gRPC status as gRPC, not as an HTTP code', () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: '),
      { code: 14, details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: ', metadata: {} });
    assert.equal(describeExportError(unavailable), 'gRPC 14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9.');
  });
});

describe('a pass over thousands of objects', () => {
  it('exports a series per object past the SDK\'s default 2,000, none folded into otel.metric.overflow, in requests of bounded size', async () => {
    const { t, exporter } = telemetry(true);
    const n = 2500;
    for (let i = 0; i < n; i++) {
      const ref = { namespace: 'bench', name: `w${i}` };
      const trigger = { index: 0, type: 'metrics-api', metricName: 's0-metric-api-queue-depth' };
      t.recorder.recordScalerValue(ref, trigger, i);
      t.recorder.recordScalerActive(ref, trigger, true);
      t.recorder.recordLoopLatency(ref, 10);
      t.recorder.recordReplicas(ref, 1, 4);
      t.recorder.recordHttpRequest(ref, trigger, 0.01, 200);
    }
    const result = await t.flush(5000);
    assert.equal(result.ok, true, result.error);
    const batches = exporter.getMetrics();
    const sizes = batches.map((rm) => rm.scopeMetrics.reduce((a, sm) => a + sm.metrics.reduce((b, m) => b + m.dataPoints.length, 0), 0));
    assert.ok(sizes.every((x) => x <= EXPORT_BATCH_POINTS), `export sizes ${sizes.join(', ')}`);
    assert.ok(batches.length > 1, 'the points were split over several requests');
    const objects = new Map<string, Set<unknown>>();
    for (const rm of batches) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) for (const dp of m.dataPoints) {
      assert.equal(dp.attributes['otel.metric.overflow'], undefined, `${m.descriptor.name} overflowed`);
      const name = dp.attributes.scaledObject ?? dp.attributes.name ?? dp.attributes.scaled_resource;
      if (name === undefined) continue;
      if (!objects.has(m.descriptor.name)) objects.set(m.descriptor.name, new Set());
      objects.get(m.descriptor.name)!.add(name);
    }
    for (const metric of ['keda.scaler.metrics.value', 'keda.scaler.active', 'keda.internal.scale.loop.latency', 'scalepass.scaledobject.replicas.desired', 'keda.scaler.http.requests.count']) {
      assert.equal(objects.get(metric)?.size, n, `${metric}: one series per object`);
    }
  });
});
