// node test/bench/period-list-cost.ts: what LIST-per-round costs in mode period. Two 50 s runs, each
// with one ScaledObject polled every second (a round a second): alone in its namespace, then beside
// 100 ScaledObjects polled hourly (listed every round, almost never due). The CPU difference is the
// LIST of 100 objects, 50 times. On the running harness (SCALEPASS_HARNESS_DIR). Not part of `npm test`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { deployment, scaledObject } from '../helpers/fixtures.ts';
import { DIST } from '../helpers/run.ts';

const N = Number(process.env.BENCH_OBJECTS ?? 100);
const run = promisify(execFile);
const h = await harness();
const kubeconfig = await asScalepass(h);
const server = http.createServer((_q, r) => r.end('{"queue":{"depth":0}}'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
const trigger = [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } }];

async function measure(label: string, ns: string) {
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, DIST, '--mode', 'period', '--namespaces', ns,
    '--output', 'json', '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', '50000', '--schedule', '0 0 1 1 *'], {
    env: { ...process.env, KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint }, maxBuffer: 256 << 20,
  }).catch((e: { stdout: string; stderr: string }) => e);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr)!;
  const rounds = stdout.trim().split('\n').map((l) => JSON.parse(l) as { objects: { outcome: string }[]; durationMs: number });
  const ms = rounds.map((r) => r.durationMs).sort((a, b) => a - b);
  return { label, cpuS: Number(m[1]) + Number(m[2]), rounds: rounds.length, listed: rounds[1]?.objects.length,
    evaluations: rounds.reduce((n, r) => n + r.objects.filter((o) => o.outcome === 'evaluated').length, 0), roundMsMedian: ms[Math.floor(ms.length / 2)] };
}

const results = [];
for (const many of [false, true]) {
  const ns = await h.namespace('bench-list');
  await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('tick', 0));
  await h.admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject('tick', { scaleTargetRef: { name: 'tick' }, pollingInterval: 1, triggers: trigger }));
  if (many) {
    for (let i = 0; i < N; i++) {
      await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`w${i}`, 0));
      await h.admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`w${i}`, { scaleTargetRef: { name: `w${i}` }, pollingInterval: 3600, triggers: trigger }));
    }
    // the shard's first pass evaluates every object: take it before measuring
    await measure('warm-up', ns);
  }
  results.push(await measure(many ? `1 polled every second + ${N} hourly` : '1 polled every second, alone', ns));
}
for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
server.close();
process.exit(0);
