// npm run bench: one pass over N ScaledObjects with metrics-api triggers on the real apiserver, as the
// shipped ServiceAccount: wall time, peak RSS and API requests by verb for a cold pass (every object
// activates), a steady pass and a quiet pass; and the start-up cost of `dist/run.js --version`
// against bare `node -e 0` in the same script. Not part of `npm test`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// a fresh control plane of its own, so objects and controller work left by tests don't skew the numbers
process.env.SCALEPASS_HARNESS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-bench-'));
// the collector's Prometheus side is not what is measured, and 10,000s of series take longer than 1 s to scrape
process.env.SCALEPASS_HARNESS_SCRAPE_INTERVAL ??= '5m';
const { harness } = await import('../helpers/harness.ts');
const { down } = await import('../harness/src/harness.ts');
const { asScalepass } = await import('../helpers/install.ts');
const { deployment, scaledObject } = await import('../helpers/fixtures.ts');
const { DIST } = await import('../helpers/run.ts');

const N = Number(process.env.BENCH_OBJECTS ?? 1000);
const run = promisify(execFile);
const h = await harness();
const kubeconfig = await asScalepass(h);
const server = http.createServer((_q, r) => r.end('{"queue":{"depth":7}}'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;

const ns = await h.namespace('bench');
process.stderr.write(`creating ${N} Deployments and ScaledObjects in ${ns}...\n`);
const t0 = Date.now();
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < N) {
    const i = next++;
    await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`w${i}`, 0));
    await h.admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`w${i}`, {
      scaleTargetRef: { name: `w${i}` }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
  }
}));
process.stderr.write(`created in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

interface Report { objects: { outcome: string; scaled: boolean; statusWritten: boolean }[]; requests: Record<string, number>; durationMs: number }

async function pass(label: string) {
  await new Promise((r) => setTimeout(r, 1100));
  const start = Date.now();
  // /usr/bin/time reports the peak RSS of the pass process
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, DIST, '--namespaces', ns, '--output', 'json',
    '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', '300000'], {
    env: { ...process.env, KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, SCALEPASS_LOG_LEVEL: 'warn' }, maxBuffer: 256 << 20,
  }).catch((e: { stdout: string; stderr: string }) => e);
  const wall = Date.now() - start;
  const rss = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  const r = JSON.parse(stdout) as Report;
  const evaluated = r.objects.filter((o) => o.outcome === 'evaluated').length;
  return { label, wallS: wall / 1000, passS: r.durationMs / 1000, rssMiB: rss, evaluated, scaled: r.objects.filter((o) => o.scaled).length,
    statusWrites: r.objects.filter((o) => o.statusWritten).length, requests: r.requests };
}

const passes = [await pass('cold (all activate 0 -> 1)'), await pass('steady (1 -> 4)'), await pass('quiet (nothing changed)')];

async function median(cmd: string[], n = 15): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await run(cmd[0]!, cmd.slice(1));
    xs.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)]!;
}
const bare = await median([process.execPath, '-e', '0']);
const version = await median([process.execPath, DIST, '--version']);
server.close();
await down(() => undefined);
fs.rmSync(process.env.SCALEPASS_HARNESS_DIR, { recursive: true, force: true });

console.log(`\n### Pass over ${N} ScaledObjects (metrics-api), real apiserver, as the shipped ServiceAccount\n`);
console.log('| pass | wall (process) | pass only | peak RSS | evaluated | scaled | status writes | API requests by verb |');
console.log('|---|---|---|---|---|---|---|---|');
for (const p of passes) {
  console.log(`| ${p.label} | ${p.wallS.toFixed(1)} s | ${p.passS.toFixed(1)} s | ${p.rssMiB.toFixed(0)} MiB | ${p.evaluated} | ${p.scaled} | ${p.statusWrites} | ${Object.entries(p.requests).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
}
console.log(`\n### Start-up\n\n| command | median of 15 |\n|---|---|\n| \`node -e 0\` | ${bare.toFixed(0)} ms |\n| \`node dist/run.js --version\` | ${version.toFixed(0)} ms (${(version / bare).toFixed(2)}x bare node) |`);
process.exit(0);
