// npm run demo: the real local control plane + collector + Prometheus, scalepass installed from
// kustomize/, a sample workload scaled over a few passes, and the metrics that arrived.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { up } from '../test/harness/src/harness.ts';
import { kubeconfig as makeKubeconfig } from '../test/harness/src/pki.ts';
import { readMetricsFile, type MetricPoint } from '../test/helpers/otlp-file.ts';
import { plot } from 'simple-ascii-chart';

const root = path.resolve(import.meta.dirname, '..');
const say = (s: string) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

say('starting the local control plane, collector and Prometheus');
const { state, started } = await up((s) => process.stdout.write(s + '\n'));
console.log(started ? `started in ${((state.timings.total ?? 0) / 1000).toFixed(1)} s` : 'already running');
const kubectl = (...args: string[]) => execFileSync(path.join(root, 'test/harness/bin/kubectl'), ['--kubeconfig', state.kubeconfig, ...args], { encoding: 'utf8' });
const kubectlIn = (input: string, ...args: string[]) => execFileSync(path.join(root, 'test/harness/bin/kubectl'), ['--kubeconfig', state.kubeconfig, ...args], { encoding: 'utf8', input });

say('kubectl apply --server-side -k kustomize/base');
process.stdout.write(kubectl('apply', '--server-side', '--force-conflicts', '-k', path.join(root, 'kustomize/base')));
kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/scaledobjects.keda.sh');

// the event source: an HTTP API reporting a queue depth, as a user's service would
let depth = 0;
const api = http.createServer((_q, r) => r.end(JSON.stringify({ queue: { depth } })));
await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/stats`;

const ns = `demo-${Date.now().toString(36)}`;
say(`sample workload in namespace ${ns}: Deployment orders-worker (0 replicas) + ScaledObject`);
kubectl('create', 'namespace', ns);
kubectl('-n', ns, 'create', 'deployment', 'orders-worker', '--image=registry.invalid/orders-worker:1', '--replicas=0');
const so = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders-worker
  namespace: ${ns}
spec:
  scaleTargetRef:
    name: orders-worker
  pollingInterval: 1
  cooldownPeriod: 5
  maxReplicaCount: 20
  triggers:
    - type: metrics-api
      name: orders-queue
      metadata:
        url: ${url}
        valueLocation: queue.depth
        targetValue: "5"
`;
console.log(so);
kubectlIn(so, 'apply', '-f', '-');

// run as the shipped ServiceAccount, with a token from the TokenRequest API
const token = JSON.parse(kubectl('create', 'token', 'scalepass', '-n', 'scalepass-system', '--duration=1h', '-o', 'json')) as { status: { token: string } };
const saKubeconfig = path.join(state.dir, 'demo-scalepass.kubeconfig');
fs.writeFileSync(saKubeconfig, makeKubeconfig(state.apiserver, fs.readFileSync(state.caFile, 'utf8'), { token: token.status.token }, 'scalepass'));

let passNo = 0;
async function pass(note: string): Promise<void> {
  await sleep(1100); // pollingInterval: 1
  passNo++;
  say(`pass ${passNo} (queue depth ${depth}): ${note}`);
  // async: this process serves the event source while the pass runs
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'dist/run.js'), '--namespaces', ns, '--lease-namespace', 'scalepass-system'], {
      env: { ...process.env, KUBECONFIG: saKubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: state.otlpEndpoint, SCALEPASS_LOG_LEVEL: 'warn' }, encoding: 'utf8',
    });
    process.stdout.write(stdout);
  } catch (e) {
    process.stdout.write(String((e as { stdout?: string }).stdout ?? e));
  }
  process.stdout.write(kubectl('-n', ns, 'get', 'deployment', 'orders-worker', '-o', 'custom-columns=DEPLOYMENT:.metadata.name,REPLICAS:.spec.replicas'));
}

await pass('nothing queued: stays at 0');
depth = 23;
await pass('23 orders arrive: activation 0 -> 1, as KEDA does');
await pass('the HPA formula takes over: ceil(23 / 5) = 5, limited to max(2 x 1, 4) = 4 per step');
await pass('and reaches 5');
depth = 0;
await pass('queue drained: inactive, cooldown (5 s) starts');
await sleep(5000);
await pass('cooldown over: back to 0');
api.close();

say('kubectl get scaledobject');
process.stdout.write(kubectl('-n', ns, 'get', 'scaledobject'));
say('events on the ScaledObject');
process.stdout.write(kubectl('-n', ns, 'get', 'events.events.k8s.io', '--field-selector', 'regarding.kind=ScaledObject', '-o', 'custom-columns=TYPE:.type,REASON:.reason,NOTE:.note'));

say(`metrics that arrived at the collector (${path.relative(root, state.metricsFile)})`);
// one point per pass and instrument; the collector's file exporter writes them shortly after each flush
const ours = (): MetricPoint[] => readMetricsFile(state.metricsFile).filter((p) => p.attrs.namespace === ns);
const perPass = (pts: MetricPoint[], name: string) => pts.filter((p) => p.name === name).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
let pts = ours();
for (const until = Date.now() + 15_000; perPass(pts, 'scalepass.scaledobject.replicas.current').length < passNo && Date.now() < until; pts = ours()) await sleep(250);
const byName = new Map<string, number[]>();
for (const p of pts) byName.set(p.name, [...(byName.get(p.name) ?? []), p.value]);
for (const [name, values] of [...byName].sort()) console.log(`${name.padEnd(36)} ${values.length} points, last ${values.at(-1)}`);

say('what happened, from the metrics the collector received');
const value = perPass(pts, 'keda.scaler.metrics.value').map((p, i): [number, number] => [i + 1, p.value]);
const replicas = perPass(pts, 'scalepass.scaledobject.replicas.current').map((p, i): [number, number] => [i + 1, p.value]);
if (value.length < 2 || replicas.length < 2) {
  console.log(`(too few points to draw: ${value.length} metric values, ${replicas.length} replica counts)`);
} else {
  // two charts, each on its own scale: on one axis 23 queued orders would flatten 1 -> 4 -> 5 replicas
  const chart = (series: [number, number][], title: string, color: 'ansiCyan' | 'ansiGreen') => plot(series, {
    width: 48, height: 7, title, xLabel: 'pass', color,
    customXAxisTicks: series.map(([x]) => x),
    customYAxisTicks: [...new Set(series.map(([, y]) => y))],
    formatter: (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1)),
  });
  console.log(chart(value, 'keda.scaler.metrics.value: the queue depth (target 5 per replica)', 'ansiCyan'));
  console.log(chart(replicas, 'scalepass.scaledobject.replicas.current: orders-worker replicas', 'ansiGreen'));
}

say(`Prometheus (${state.prometheusUrl}), behind the collector's Prometheus exporter`);
const queries = [`keda_scaler_metrics_value{namespace="${ns}"}`, `keda_scaler_active{namespace="${ns}"}`, `keda_internal_scale_loop_latency{namespace="${ns}"}`, `keda_resource_totals{namespace="${ns}"}`];
const query = async (q: string) => ((await (await fetch(`${state.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { value: [number, string] }[] } }).data.result;
// Prometheus scrapes the exporter on its own interval: wait for the first scrape that has the series
for (const until = Date.now() + 15_000; (await query(queries[0]!)).length === 0 && Date.now() < until;) await sleep(500);
for (const q of queries) console.log(`${q.padEnd(60)} = ${(await query(q)).map((x) => x.value[1]).join(', ') || '(none yet)'}`);

say('the dashboard and alerts for these metrics');
console.log('  Grafana: Dashboards > New > Import > upload dashboards/scalepass.json (choose the Prometheus data source)');
console.log('  Prometheus: add dashboards/scalepass-alerts.yaml to rule_files');

say('the control plane keeps running');
console.log(`  source ${path.relative(root, path.join(state.dir, 'env'))} && test/harness/bin/kubectl get so -A`);
console.log('  npm run harness:down     # stop everything');
