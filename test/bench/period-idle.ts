// node test/bench/period-idle.ts: what staying for the period costs while nothing happens. N idle
// ScaledObjects (metrics-api against a local HTTP server answering 0, pollingInterval 30, targets at
// 0) on the running harness (SCALEPASS_HARNESS_DIR); CPU seconds (user + sys, /usr/bin/time) and API
// requests of one run in mode once (every object due, as in the CronJob's steady state at one run a
// minute) against one run in mode period of BENCH_PERIOD_MS (50 s, the shipped passDeadlineMs).
// Not part of `npm test`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { deployment, scaledObject } from '../helpers/fixtures.ts';
import { DIST } from '../helpers/run.ts';

const N = Number(process.env.BENCH_OBJECTS ?? 100);
const PERIOD_MS = Number(process.env.BENCH_PERIOD_MS ?? 50_000);
const run = promisify(execFile);
const h = await harness();
const kubeconfig = await asScalepass(h);
const server = http.createServer((_q, r) => r.end('{"queue":{"depth":0}}'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;

const ns = await h.namespace('bench-idle');
let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < N) {
    const i = next++;
    await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`w${i}`, 0));
    await h.admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`w${i}`, {
      scaleTargetRef: { name: `w${i}` }, pollingInterval: 30,
      triggers: [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
  }
}));

interface Round { round?: number; start: number; durationMs: number; objects: { outcome: string; statusWritten: boolean }[]; requests: Record<string, number> }

async function measure(label: string, mode: 'once' | 'period') {
  const t0 = Date.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'CPU %U %S MAXRSS %M', process.execPath, DIST, '--mode', mode, '--namespaces', ns,
    '--output', 'json', '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', String(mode === 'period' ? PERIOD_MS : 50_000), '--schedule', '0 0 1 1 *'], {
    env: { ...process.env, KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint }, maxBuffer: 256 << 20,
  }).catch((e: { stdout: string; stderr: string }) => e);
  const wallS = (Date.now() - t0) / 1000;
  const m = /CPU ([\d.]+) ([\d.]+) MAXRSS (\d+)/.exec(stderr);
  if (!m) throw new Error(`${label}: no /usr/bin/time line; stderr:\n${stderr.slice(-2000)}`);
  const rounds = (mode === 'period' ? stdout.trim().split('\n') : [stdout]).map((l) => JSON.parse(l) as Round);
  const requests: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.requests)) requests[k] = (requests[k] ?? 0) + v;
  const durations = rounds.map((r) => r.durationMs).sort((a, b) => a - b);
  const complete = stderr.split('\n').flatMap((l) => { try { return [JSON.parse(l) as { msg?: string; leaseRequests?: Record<string, number> }]; } catch { return []; } }).find((l) => l.msg === 'run complete');
  return {
    label, wallS, cpuS: Number(m[1]) + Number(m[2]), userS: Number(m[1]), sysS: Number(m[2]), rssMiB: Number(m[3]) / 1024,
    rounds: rounds.length, evaluations: rounds.reduce((n, r) => n + r.objects.filter((o) => o.outcome === 'evaluated').length, 0),
    statusWrites: rounds.reduce((n, r) => n + r.objects.filter((o) => o.statusWritten).length, 0),
    roundMs: { median: durations[Math.floor(durations.length / 2)], max: durations.at(-1) }, requests, leaseRequests: complete?.leaseRequests,
  };
}

// the first pass writes every object's status (Ready, Active False): not the idle steady state
const cold = await measure('once, cold (first pass of the scope)', 'once');
// 30 s later every object has had a tick again: what each minute's run does in mode once
await new Promise((r) => setTimeout(r, 31_000));
const once = await measure('once, steady (every object due)', 'once');
const period = await measure(`period, ${PERIOD_MS / 1000} s`, 'period');
for (const r of [cold, once, period]) process.stdout.write(JSON.stringify(r) + '\n');
const perHour = (cpuS: number) => (cpuS * 60).toFixed(1);
process.stdout.write(`\nCPU-seconds per hour at one run a minute: once ${perHour(once.cpuS)}, period ${perHour(period.cpuS)} (${N} idle ScaledObjects, pollingInterval 30)\n`);
server.close();
process.exit(0);
