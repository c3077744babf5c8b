// KEDA's instruments, through the real OpenTelemetry Collector: names, attribute keys, values, and
// counters that add up across consecutive short-lived runs (delta per run; the collector's
// deltatocumulative processor keeps the running total Prometheus shows), over each OTLP protocol
// (http/protobuf, the default; http/json; grpc to the collector's OTLP/gRPC receiver).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, specReplicas, pass, suiteSetup } from '../helpers/fixtures.ts';
import { runScalepass } from '../helpers/run.ts';
import type { MetricPoint } from '../helpers/otlp-file.ts';
import { closedPort } from '../helpers/scalers.ts';
import { OTLP_PROTOCOLS, type OtlpProtocol } from '../../src/telemetry/otlp.ts';

const SEED_NAMES = [
  'keda.build.info', 'keda.scaler.active', 'keda.scaler.metrics.value', 'keda.scaler.metrics.latency',
  'keda.scaler.errors', 'keda.scaler.errors.total', 'keda.scaled.object.errors', 'keda.resource.totals',
  'keda.trigger.totals', 'keda.internal.scale.loop.latency',
];
const SCALER_KEYS = ['metric', 'namespace', 'scaledObject', 'scaler', 'scalerIndex'];

/**
 * The variables that send a run's metrics to the harness collector over `protocol`. http/protobuf is
 * the default, so it sets no protocol variable. The harness writes the gRPC listener as host:port;
 * the http:// scheme asks for a plaintext channel, as a user would write it.
 */
function collectorEnv(h: Harness, protocol: OtlpProtocol): Record<string, string> {
  if (protocol === 'grpc') return { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `http://${h.state.otlpGrpcEndpoint}` };
  if (protocol === 'http/json') return { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint };
  return { OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint };
}


describe('telemetry through the real collector', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(7)));
  after(async () => { await src.close(); });

  for (const protocol of OTLP_PROTOCOLS) {
    it(`over ${protocol}: emits all ten seed instruments with KEDA attribute keys, and counters add up over three runs`, async () => {
      const ns = await h.namespace(`e2e-otel-${protocol.replace('/', '-')}`);
      const run = crypto.randomUUID();
      const dead = `http://127.0.0.1:${await closedPort()}/stats`;
      await create(h, ns, deployment('good', 0));
      await create(h, ns, scaledObject('good', { scaleTargetRef: { name: 'good' }, pollingInterval: 1,
        triggers: [{ type: 'metrics-api', name: 'queue', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
      await create(h, ns, deployment('bad', 2));
      await create(h, ns, scaledObject('bad', { scaleTargetRef: { name: 'bad' }, pollingInterval: 1,
        triggers: [{ type: 'metrics-api', name: 'broken-api', metadata: { url: dead, valueLocation: 'queue.depth', targetValue: '2' } }] }));
      const env = { ...collectorEnv(h, protocol), OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` };
      for (let i = 0; i < 3; i++) {
        const p = await pass(h, { kubeconfig, namespaces: [ns], env });
        assert.equal(p.code, 1, 'the broken object makes the run report a failure');
        const flushed = p.logs.find((l) => String(l.msg).startsWith('metrics flushed'));
        assert.ok(flushed, `run ${i + 1}: the collector acknowledged the flush; logs: ${p.stderr.slice(-1500)}`);
        assert.match(String(flushed.msg), new RegExp(` 0 lost, .* over ${protocol}$`));
      }
      assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/bad`), 2, 'errors never scale down');

      const mine = (p: MetricPoint) => p.resource['scalepass.test.run'] === run;
      const pts = await h.waitForMetrics((ps) => SEED_NAMES.every((n) => ps.some((p) => p.name === n))
        && ps.filter((p) => p.name === 'keda.scaler.errors').length >= 3, 15_000, mine);
      for (const n of SEED_NAMES) assert.ok(pts.some((p) => p.name === n), `${n} missing`);
      assert.equal(pts[0]!.resource['service.name'], 'scalepass');
      assert.equal(pts[0]!.resource['service.instance.id'], 'scalepass-shard-0', 'one identity per shard, not per run');

      const value = pts.filter((p) => p.name === 'keda.scaler.metrics.value' && p.attrs.scaledObject === 'good');
      assert.equal(value.length, 3);
      for (const v of value) {
        assert.deepEqual(Object.keys(v.attrs).sort(), SCALER_KEYS);
        assert.equal(v.value, 7);
        assert.equal(v.attrs.scaler, 'queue');
        assert.equal(v.attrs.metric, 's0-metric-api-queue-depth');
        assert.equal(v.attrs.namespace, ns);
        assert.equal(Number(v.attrs.scalerIndex), 0);
      }
      assert.ok(pts.filter((p) => p.name === 'keda.scaler.active' && p.attrs.scaledObject === 'good').every((p) => p.value === 1));
      assert.ok(pts.filter((p) => p.name === 'keda.scaler.metrics.latency' && p.attrs.scaledObject === 'good').every((p) => p.value >= 0 && p.value < 5000));

      const errors = pts.filter((p) => p.name === 'keda.scaler.errors' && p.attrs.scaledObject === 'bad');
      assert.equal(errors.length, 3, 'one point per run');
      for (const e of errors) {
        assert.deepEqual(Object.keys(e.attrs).sort(), SCALER_KEYS);
        assert.equal(e.attrs.scaler, 'broken-api');
        assert.equal(e.temporality, 1, 'delta: each run reports its own errors');
        assert.equal(e.value, 1);
      }
      const soErrors = pts.filter((p) => p.name === 'keda.scaled.object.errors' && p.attrs.scaledObject === 'bad');
      assert.deepEqual(Object.keys(soErrors[0]!.attrs).sort(), ['namespace', 'scaledObject']);
      assert.ok(pts.some((p) => p.name === 'keda.scaler.errors.total' && !('scaler' in p.attrs)));
      const loop = pts.filter((p) => p.name === 'keda.internal.scale.loop.latency' && p.attrs.name === 'good');
      assert.deepEqual(Object.keys(loop[0]!.attrs).sort(), ['name', 'namespace', 'type']);
      assert.equal(loop[0]!.attrs.type, 'scaledobject');
      const totals = pts.filter((p) => p.name === 'keda.resource.totals' && p.attrs.namespace === ns);
      assert.ok(totals.every((p) => p.value === 2 && p.attrs.type === 'scaled_object'));
      assert.ok(pts.filter((p) => p.name === 'keda.trigger.totals').every((p) => p.attrs.type === 'metrics-api' && p.value === 2));
      const build = pts.find((p) => p.name === 'keda.build.info')!;
      assert.equal(build.value, 1);
      for (const k of ['version', 'git_commit']) assert.ok(k in build.attrs, `build info lacks ${k}`);

      // Prometheus, behind deltatocumulative, shows the running total of the three runs
      let total: { value: [number, string] }[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 20_000) {
        total = await h.promQuery(`keda_scaler_errors_total{scaledObject="bad",scaler="broken-api",scalepass_test_run="${run}"}`);
        if (total.length && Number(total[0]!.value[1]) === 3) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(Number(total[0]?.value[1]), 3, `Prometheus total after three runs: ${JSON.stringify(total)}`);
      const gauge = await h.promQuery(`keda_scaler_metrics_value{scaledObject="good",scalepass_test_run="${run}"}`);
      assert.equal(Number(gauge[0]?.value[1]), 7);
    });
  }

  it('also emits the names current KEDA dashboards use when emitCurrentKedaNames is on', async () => {
    const ns = await h.namespace('e2e-otel-new');
    const run = crypto.randomUUID();
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--emit-current-keda-names'], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
    assert.equal(p.code, 0, p.stderr);
    const want = ['keda.scaler.metrics.latency.seconds', 'keda.internal.scale.loop.latency.seconds', 'keda.resource.registered.count', 'keda.trigger.registered.count', 'keda.scaled.object.paused'];
    const pts = await h.waitForMetrics((ps) => want.every((n) => ps.some((x) => x.name === n)), 15_000, (x) => x.resource['scalepass.test.run'] === run);
    const secs = pts.find((x) => x.name === 'keda.scaler.metrics.latency.seconds')!;
    assert.equal(secs.unit, 's');
  });

  it('on SIGTERM mid-pass, flushes what it measured and exits 143 within the flush timeout', async () => {
    const ns = await h.namespace('e2e-sigterm');
    const run = crypto.randomUUID();
    // an event source that accepts the request and never answers: the pass is still measuring
    const hang = net.createServer(() => { /* never answers */ });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    try {
      await create(h, ns, deployment('w', 0));
      await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
        triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}/`, valueLocation: 'v', targetValue: '1', timeout: '60000' } }] }));
      const { spawn } = await import('node:child_process');
      const { DIST } = await import('../helpers/run.ts');
      const child = spawn(process.execPath, [DIST, '--namespaces', ns, '--lease-namespace', 'scalepass-system', '--trigger-timeout-ms', '60000', '--flush-timeout-ms', '2000'], {
        env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // wait until it is measuring (the loop latency was recorded), then stop it as the kubelet would
      const t0 = Date.now();
      while (!stderr.includes('"scheduled start"') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
      const killedAt = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 143, stderr);
      assert.ok(Date.now() - killedAt <= 3000, `exited ${Date.now() - killedAt} ms after SIGTERM (flush timeout 2000 ms)`);
      assert.match(stderr, /SIGTERM: flushing metrics/);
      const leases = await h.admin.list<{ items: { spec: { holderIdentity?: string } }[] }>('/apis/coordination.k8s.io/v1/namespaces/scalepass-system/leases');
      assert.ok(!leases.items.some((l) => l.spec.holderIdentity?.endsWith(`-${child.pid}`)), 'the shard lease was given back');
      await h.waitForMetrics((ps) => ps.some((p) => p.name === 'keda.internal.scale.loop.latency'), 10_000,
        (p) => p.resource['scalepass.test.run'] === run);
    } finally {
      hang.close();
    }
  });

  for (const protocol of OTLP_PROTOCOLS) {
    it(`over ${protocol}: still scales, logs the loss and exits within the flush timeout + 1 s when the collector is down or never answers`, async () => {
      const blackhole = net.createServer(() => { /* accept and never answer */ });
      await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
      try {
        const endpoints = { down: `http://127.0.0.1:${await closedPort()}`, silent: `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}` };
        for (const [kind, endpoint] of Object.entries(endpoints)) {
          const ns = await h.namespace(`e2e-nocol-${protocol.replace('/', '-')}-${kind}`);
          await create(h, ns, deployment('w', 0));
          await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
            triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
          const flushTimeoutMs = 2000;
          const r = await runScalepass(['--namespaces', ns, '--lease-namespace', 'scalepass-system', '--flush-timeout-ms', String(flushTimeoutMs)], {
            KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          });
          const exited = Date.now();
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 1, `${kind}: the scaling does not depend on the collector`);
          const done = r.logs.find((l) => l.msg === 'pass complete');
          assert.ok(done, 'pass complete logged');
          const afterPass = exited - Date.parse(String(done.time));
          assert.ok(afterPass <= flushTimeoutMs + 1000, `${kind}: exited ${afterPass} ms after the pass, flush timeout ${flushTimeoutMs} ms`);
          const lost = r.logs.find((l) => String(l.msg).startsWith('metrics NOT flushed'));
          assert.ok(lost, `${kind}: the loss is logged; logs: ${r.stderr.slice(-1500)}`);
          assert.equal(lost.level, 'warn');
          assert.match(String(lost.msg), new RegExp(` over ${protocol}$`), `${kind}: the loss names the protocol`);
        }
      } finally {
        blackhole.close();
      }
    });
  }
});
