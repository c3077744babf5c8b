// npm run bench:harness: what the local control plane costs on this machine — the warm build check,
// the start of every component until ready (each row: time after the previous wait), and the memory of
// each running process.
// A second, separate instance is started (own directory, own ports) so a running harness is untouched.
// The cold build is measured by: HARNESS_CACHE=$(mktemp -d) GOCACHE=$(mktemp -d) bash test/harness/build.sh
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.SCALEPASS_HARNESS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-bench-harness-'));
const { up, down, ROOT } = await import('../harness/src/harness.ts');

const t0 = Date.now();
execFileSync('bash', [path.join(ROOT, 'test/harness/build.sh')], { stdio: 'ignore' });
const warmBuild = Date.now() - t0;

const { state } = await up(() => undefined);
await new Promise((r) => setTimeout(r, 5000)); // let every component settle after ready
const rows = state.pids.map(({ name, pid }) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { name, rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, ready: state.timings[name === 'otelcol' ? 'otelcol' : name] };
});
await down(() => undefined);
fs.rmSync(process.env.SCALEPASS_HARNESS_DIR, { recursive: true, force: true });

console.log(`\n### Local control plane (${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB)\n`);
console.log(`- warm \`bash test/harness/build.sh\` (cache hit): ${(warmBuild / 1000).toFixed(1)} s`);
console.log(`- start, every component ready: ${((state.timings.total ?? 0) / 1000).toFixed(1)} s\n`);
console.log('| component | ready after | RSS after start | peak RSS |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.ready !== undefined ? `${(r.ready / 1000).toFixed(1)} s` : '-'} | ${r.rss.toFixed(0)} MiB | ${r.hwm.toFixed(0)} MiB |`);
// waits that span components: the probe Deployment's pod scheduled and Ready, then its usage served
for (const [k, what] of [['probe pod Ready', 'probe pod scheduled, Running, Ready'], ['probe pod on /metrics/resource', 'probe pod on kwok\'s /metrics/resource'],
  ['metrics.k8s.io', 'probe pod usage in metrics.k8s.io']] as const) {
  console.log(`| (${what}) | ${((state.timings[k] ?? 0) / 1000).toFixed(1)} s more | | |`);
}
console.log(`| **total** | | ${rows.reduce((n, r) => n + r.rss, 0).toFixed(0)} MiB | ${rows.reduce((n, r) => n + r.hwm, 0).toFixed(0)} MiB |`);
