// KEDA's newer instruments (emitCurrentKedaNames) and scalepass's own, through the real OpenTelemetry
// Collector: the HTTP request counter and duration histogram of real HTTP scalers (metrics-api against
// an HTTP server of the test, prometheus against the harness's Prometheus), prometheus's empty answers,
// and the replica gauges compared with what the apiserver's /scale says the pass applied.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, specReplicas, pass, suiteSetup } from '../helpers/fixtures.ts';
import { jobTargetRef, scaledJob } from '../helpers/scaledjobs.ts';
import type { MetricPoint } from '../helpers/otlp-file.ts';
import { closedPort } from '../helpers/scalers.ts';
import { until } from '../helpers/until.ts';

const KEDA_HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_KEYS = ['metric_name', 'namespace', 'scaled_resource', 'scaler', 'status_code', 'trigger_name'];
const EMPTY_KEYS = ['ignoreNullValues', 'isScaledObject', 'metricName', 'namespace', 'scaledResource', 'triggerName'];

const keys = (p: MetricPoint): string[] => Object.keys(p.attrs).sort();
/** Prometheus's answer for q, polled until `ok` (the exporter is scraped every second) */
function promUntil(h: Harness, q: string, ok: (rows: { value: [number, string] }[]) => boolean): Promise<{ value: [number, string] }[]> {
  return until(`Prometheus: ${q}`, async () => {
    const rows = await h.promQuery(q);
    return ok(rows) ? rows : undefined;
  }, 20_000);
}

describe('KEDA\'s newer instruments and scalepass\'s own, through the real collector', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(7)));
  after(async () => { await src.close(); });

  it('counts and times every HTTP request of real scalers and counts prometheus\'s empty answers, with KEDA\'s attribute keys', async () => {
    const ns = await h.namespace('e2e-otel-http');
    const run = crypto.randomUUID();
    const prom = h.state.prometheusUrl;
    const nothing = `scalepass_no_such_series{run="${run}"}`;
    await create(h, ns, deployment('api', 0));
    await create(h, ns, scaledObject('api', { scaleTargetRef: { name: 'api' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', name: 'queue', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    await create(h, ns, deployment('gone', 2));
    await create(h, ns, scaledObject('gone', { scaleTargetRef: { name: 'gone' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${await closedPort()}/stats`, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    await create(h, ns, deployment('wrong-path', 2));
    await create(h, ns, scaledObject('wrong-path', { scaleTargetRef: { name: 'wrong-path' }, pollingInterval: 1,
      triggers: [{ type: 'prometheus', metadata: { serverAddress: `${prom}/not-prometheus`, query: 'up', threshold: '5' } }] }));
    // an empty result vector: 0 with ignoreNullValues (KEDA's default), a failed read without it
    await create(h, ns, deployment('empty', 1));
    await create(h, ns, scaledObject('empty', { scaleTargetRef: { name: 'empty' }, pollingInterval: 1, minReplicaCount: 1,
      triggers: [{ type: 'prometheus', name: 'lag', metadata: { serverAddress: prom, query: nothing, threshold: '5' } }] }));
    await create(h, ns, deployment('strict', 1));
    await create(h, ns, scaledObject('strict', { scaleTargetRef: { name: 'strict' }, pollingInterval: 1,
      triggers: [{ type: 'prometheus', metadata: { serverAddress: prom, query: nothing, threshold: '5', ignoreNullValues: 'false' } }] }));
    await create(h, ns, scaledJob('batch', { jobTargetRef: jobTargetRef(), pollingInterval: 1,
      triggers: [{ type: 'prometheus', name: 'backlog', metadata: { serverAddress: prom, query: nothing, threshold: '1' } }] }));

    const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--emit-current-keda-names'], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
    assert.equal(p.code, 1, 'gone, wrong-path and strict fail their reads');
    assert.deepEqual(p.report.objects.filter((o) => o.outcome === 'failed').map((o) => o.name).sort(), ['gone', 'strict', 'wrong-path']);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/api`), 1);

    const pts = await h.waitForMetrics((ps) => ['keda.scaler.http.requests.count', 'keda.scaler.http.request.duration.seconds', 'keda.scaler.empty.upstream.responses']
      .every((n) => ps.some((x) => x.name === n)), 15_000, (x) => x.resource['scalepass.test.run'] === run);

    // keda.scaler.http.requests.count: one request per read, KEDA's six keys, the status or `error`
    const requests = pts.filter((x) => x.name === 'keda.scaler.http.requests.count');
    for (const r of requests) {
      assert.deepEqual(keys(r), HTTP_KEYS, JSON.stringify(r.attrs));
      assert.equal(r.type, 'sum');
      assert.equal(r.monotonic, true);
      assert.equal(r.temporality, 1, 'delta, as every counter');
      assert.equal(r.attrs.namespace, ns);
    }
    const row = (r: MetricPoint) => [r.attrs.scaled_resource, r.attrs.scaler, r.attrs.trigger_name, r.attrs.metric_name, r.attrs.status_code, r.value];
    assert.deepEqual(requests.map(row).sort(), [
      ['api', 'metrics-api', 'queue', 's0-metric-api-queue-depth', '200', 1],
      ['batch', 'prometheus', 'backlog', 's0-prometheus', '200', 1],
      ['empty', 'prometheus', 'lag', 's0-prometheus', '200', 1],
      // nothing listening: no status, KEDA's `error`; unnamed triggers have an empty trigger_name
      ['gone', 'metrics-api', '', 's0-metric-api-queue-depth', 'error', 1],
      ['strict', 'prometheus', '', 's0-prometheus', '200', 1],
      ['wrong-path', 'prometheus', '', 's0-prometheus', '404', 1],
    ].sort());

    // keda.scaler.http.request.duration.seconds: KEDA's default (low-cardinality) keys, seconds, KEDA's buckets
    const durations = pts.filter((x) => x.name === 'keda.scaler.http.request.duration.seconds');
    for (const d of durations) {
      assert.deepEqual(keys(d), ['scaler', 'status_code']);
      assert.equal(d.type, 'histogram');
      assert.equal(d.unit, 's');
      assert.deepEqual(d.bounds, KEDA_HTTP_BUCKETS);
      assert.equal(d.buckets!.reduce((a, b) => a + b, 0), d.count, 'every request lands in one bucket');
      assert.ok(d.value > 0 && d.value < 5 * d.count!, `plausible seconds: sum ${d.value} over ${d.count}`);
    }
    assert.deepEqual(durations.map((d) => [d.attrs.scaler, d.attrs.status_code, d.count]).sort(), [
      ['metrics-api', '200', 1], ['metrics-api', 'error', 1], ['prometheus', '200', 3], ['prometheus', '404', 1],
    ].sort());

    // keda.scaler.empty.upstream.responses: the three empty answers, whether or not they became 0
    const empty = pts.filter((x) => x.name === 'keda.scaler.empty.upstream.responses');
    for (const e of empty) assert.deepEqual(keys(e), EMPTY_KEYS, JSON.stringify(e.attrs));
    // a false boolean may be written as an empty value by the collector's JSON; read it as false
    const bool = (v: unknown) => v === true;
    assert.deepEqual(empty.map((e) => [e.attrs.scaledResource, e.attrs.triggerName, e.attrs.metricName, bool(e.attrs.isScaledObject), bool(e.attrs.ignoreNullValues), e.value]).sort(), [
      ['batch', 'backlog', 's0-prometheus', false, true, 1],
      ['empty', 'lag', 's0-prometheus', true, true, 1],
      ['strict', '', 's0-prometheus', true, false, 1],
    ].sort());

    // and as a Prometheus user queries them (behind the collector's Prometheus exporter)
    const sel = `namespace="${ns}",scalepass_test_run="${run}"`;
    await promUntil(h, `keda_scaler_http_requests_count_total{${sel},scaled_resource="wrong-path",status_code="404"}`, (r) => Number(r[0]?.value[1]) === 1);
    await promUntil(h, `keda_scaler_empty_upstream_responses_total{${sel},scaledResource="strict",ignoreNullValues="false"}`, (r) => Number(r[0]?.value[1]) === 1);
    await promUntil(h, `keda_scaler_http_request_duration_seconds_count{scaler="prometheus",status_code="200",scalepass_test_run="${run}"}`, (r) => Number(r[0]?.value[1]) === 3);
  });

  it('reports current and desired replicas equal to what the pass applied through /scale, and the pass\'s duration and outcome', async () => {
    const ns = await h.namespace('e2e-otel-replicas');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const scalePath = `/apis/apps/v1/namespaces/${ns}/deployments/w`;

    /** one pass with its own run id; the points it exported, once its pass metrics arrived */
    const onePass = async (extraArgs: string[] = []) => {
      const run = crypto.randomUUID();
      const started = Date.now();
      const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs, env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
      const wallS = (Date.now() - started) / 1000;
      const pts = await h.waitForMetrics((ps) => ps.some((x) => x.name === 'scalepass.pass.duration'), 15_000, (x) => x.resource['scalepass.test.run'] === run);
      const gauge = (name: string, so: string) => {
        const g = pts.filter((x) => x.name === name && x.attrs.scaledObject === so);
        assert.equal(g.length, 1, `${name} for ${so}: ${JSON.stringify(g, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
        assert.deepEqual(keys(g[0]!), ['namespace', 'scaledObject']);
        assert.equal(g[0]!.type, 'gauge');
        assert.equal(g[0]!.attrs.namespace, ns);
        return g[0]!.value;
      };
      const objects = Object.fromEntries(pts.filter((x) => x.name === 'scalepass.pass.objects' && x.attrs.type === 'scaledobject').map((x) => [x.attrs.outcome, x.value]));
      return { p, run, pts, wallS, gauge, objects };
    };

    // a dry run applies nothing: the target stays at 0 while the decision says 1
    const dry = await onePass(['--dry-run']);
    assert.equal(dry.p.code, 0, dry.p.stderr);
    assert.equal(await specReplicas(h, scalePath), 0);
    assert.deepEqual([dry.gauge('scalepass.scaledobject.replicas.current', 'w'), dry.gauge('scalepass.scaledobject.replicas.desired', 'w')], [0, 1]);

    // activation 0 -> 1, then the HPA step 1 -> 4 (ceil(7 / 2), within max(2 x 1, 4)): the gauges follow /scale
    for (const want of [1, 4]) {
      const r = await onePass();
      assert.equal(r.p.code, 0, r.p.stderr);
      const applied = await specReplicas(h, scalePath);
      assert.equal(applied, want);
      assert.equal(r.gauge('scalepass.scaledobject.replicas.current', 'w'), applied);
      assert.equal(r.gauge('scalepass.scaledobject.replicas.desired', 'w'), applied);
      // the trigger's target beside its value, on the same series, so a dashboard can set one against the other
      const value = r.pts.filter((x) => x.name === 'keda.scaler.metrics.value' && x.attrs.scaledObject === 'w');
      const target = r.pts.filter((x) => x.name === 'scalepass.scaler.metrics.target' && x.attrs.scaledObject === 'w');
      assert.equal(target.length, 1, JSON.stringify(target.map((x) => x.attrs)));
      assert.deepEqual(target[0]!.attrs, value[0]!.attrs);
      assert.deepEqual([target[0]!.type, target[0]!.value, value[0]!.value], ['gauge', 2, 7]);
      // the run's duration, once, as a histogram in seconds, by outcome
      const d = r.pts.filter((x) => x.name === 'scalepass.pass.duration');
      assert.equal(d.length, 1);
      assert.deepEqual([d[0]!.attrs, d[0]!.unit, d[0]!.type, d[0]!.count], [{ outcome: 'success' }, 's', 'histogram', 1]);
      assert.ok(d[0]!.value > 0 && d[0]!.value <= r.wallS, `pass took ${d[0]!.value} s, the whole run ${r.wallS} s`);
      assert.deepEqual(r.objects, { evaluated: 1, skipped: 0, failed: 0 });
      // emitCurrentKedaNames is off: none of KEDA's newer names
      assert.ok(!r.pts.some((x) => x.name.startsWith('keda.scaler.http.') || x.name === 'keda.scaler.empty.upstream.responses'));
      if (want === 4) {
        const rows = await promUntil(h, `scalepass_scaledobject_replicas_current{namespace="${ns}",scaledObject="w",scalepass_test_run="${r.run}"}`, (x) => x.length === 1);
        assert.equal(Number(rows[0]!.value[1]), 4);
        await promUntil(h, `scalepass_pass_duration_seconds_count{outcome="success",scalepass_test_run="${r.run}"}`, (x) => Number(x[0]?.value[1]) === 1);
      }
    }

    // a failing trigger keeps its target's replicas: both gauges say so, and the pass is a partial failure
    await create(h, ns, deployment('bad', 2));
    await create(h, ns, scaledObject('bad', { scaleTargetRef: { name: 'bad' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${await closedPort()}/stats`, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const partial = await onePass();
    assert.equal(partial.p.code, 1);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/bad`), 2);
    assert.deepEqual([partial.gauge('scalepass.scaledobject.replicas.current', 'bad'), partial.gauge('scalepass.scaledobject.replicas.desired', 'bad')], [2, 2]);
    assert.equal(partial.gauge('scalepass.scaledobject.replicas.current', 'w'), await specReplicas(h, scalePath));
    assert.deepEqual(partial.pts.filter((x) => x.name === 'scalepass.pass.duration').map((x) => x.attrs.outcome), ['partial_failure']);
    assert.deepEqual(partial.objects, { evaluated: 1, skipped: 0, failed: 1 });
  });
});
