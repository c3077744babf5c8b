// npm run bench:profile: where a quiet pass over PROFILE_OBJECTS (10,000) ScaledObjects spends its CPU.
// Keeps a control plane of its own (PROFILE_DIR, default /tmp/scalepass-profile) up between runs, so a
// change to src/ can be rebuilt and profiled again in seconds instead of recreating 10,000 objects: the
// objects (bench Workloads with /scale, metrics-api triggers against a source this script serves on
// PROFILE_PORT) are created once. Each run: one pass to settle (the first one activates everything),
// then PROFILE_PASSES quiet passes with --cpu-prof; prints wall, CPU, peak RSS and the top functions by
// self time, mapped through dist's source maps to src/ and node_modules. PROFILE_DOWN=1 stops the plane.
// Not part of `npm test`; numbers for the README come from `npm run bench`.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const dir = process.env.PROFILE_DIR ?? '/tmp/scalepass-profile';
fs.mkdirSync(dir, { recursive: true });
process.env.SCALEPASS_HARNESS_DIR = dir;
process.env.SCALEPASS_HARNESS_SCRAPE_INTERVAL ??= '5m';
const { harness } = await import('../helpers/harness.ts');
const { down } = await import('../harness/src/harness.ts');
if (process.env.PROFILE_DOWN === '1') {
  await down();
  process.exit(0);
}
const { asScalepass } = await import('../helpers/install.ts');
const { DIST } = await import('../helpers/run.ts');
const { deployment, scaledObject } = await import('../helpers/fixtures.ts');
const { BENCH_PASS_DEADLINE_MS, BENCH_GROUP, BENCH_KIND, benchTargetRef, benchWorkload, createMany, createOk, ensureBenchCrd, envNumber, log, measuredRun } = await import('./common.ts');

const total = envNumber('PROFILE_OBJECTS', 10_000);
const passes = envNumber('PROFILE_PASSES', 1);
const port = envNumber('PROFILE_PORT', 18999);
const top = envNumber('PROFILE_TOP', 40);
// deployment (default): one LIST per namespace reads the targets; workload: a custom resource with /scale, one GET each
const targetKind = (process.env.PROFILE_TARGET ?? 'deployment').toLowerCase();
if (!['deployment', 'workload'].includes(targetKind)) throw new Error(`PROFILE_TARGET: deployment or workload, got ${targetKind}`);
// 0 (default): every object idle at 0 replicas, as most of a real estate is; 2 against target 2: one replica each
const value = envNumber('PROFILE_VALUE', 0);
const ns = `bench-profile-${targetKind}`;

const h = await harness();
const kubeconfig = await asScalepass(h);
await ensureBenchCrd(h);
const source = http.createServer((_q, r) => r.end(JSON.stringify({ queue: { depth: value } })));
await new Promise<void>((r) => source.listen(port, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${port}/stats`;

await h.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined); // kept across runs
const have = (await h.admin.list<{ items: unknown[] }>(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`)).items.length;
if (have < total) {
  log(`profile: creating ${total - have} objects in ${ns}`);
  await createMany(h, total - have, async (k) => {
    const i = have + k;
    if (targetKind === 'deployment') await createOk(h, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`p${i}`, 0));
    else await createOk(h, `/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}`, benchWorkload(`p${i}`));
    await createOk(h, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`p${i}`, {
      scaleTargetRef: targetKind === 'deployment' ? { name: `p${i}` } : benchTargetRef(`p${i}`), pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
  }, 16, `${total - have} objects`);
}

const args = ['--namespaces', ns, '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', BENCH_PASS_DEADLINE_MS];
const settle = await measuredRun(DIST, { h, kubeconfig, args });
log(`profile: settling pass ${settle.wallS.toFixed(1)} s wall, ${settle.cpuS.toFixed(2)} s CPU, exit ${settle.code}`);
const profDir = path.join(dir, 'cpu-profiles');
fs.rmSync(profDir, { recursive: true, force: true });
for (let i = 0; i < passes; i++) {
  await new Promise((r) => setTimeout(r, 1100)); // pollingInterval 1: due again
  const run = await measuredRun(DIST, { h, kubeconfig, args, env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } });
  const evaluated = run.report?.objects.filter((o) => o.outcome === 'evaluated').length ?? NaN;
  process.stdout.write(`quiet pass ${i + 1}: exit ${run.code}, ${run.wallS.toFixed(2)} s wall, ${run.cpuS.toFixed(2)} s CPU `
    + `(${((run.cpuS * 1000) / evaluated).toFixed(3)} ms per evaluation of ${evaluated}), peak RSS ${run.rssMiB.toFixed(0)} MiB; `
    + `status writes ${run.report?.objects.filter((o) => o.statusWritten).length}, scaled ${run.report?.objects.filter((o) => o.scaled).length}; `
    + `requests ${Object.entries(run.report?.requests ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
}
source.close();

// self time by function, through the source maps (dist is one bundle: without them everything is "chunk-X.js")
interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; hitCount?: number }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }
const maps = new Map<string, SourceMap | null>();
function mapOf(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let m: SourceMap | null = null;
    try {
      const file = fileURLToPath(url);
      if (fs.existsSync(file + '.map')) m = new SourceMap(JSON.parse(fs.readFileSync(file + '.map', 'utf8')));
    } catch { m = null; }
    maps.set(url, m);
  }
  return maps.get(url)!;
}
const where = (n: Node): { fn: string; file: string } => {
  const { url, lineNumber, columnNumber, functionName } = n.callFrame;
  const fn = functionName || '(anonymous)';
  if (!url) return { fn, file: '(native)' };
  if (!url.startsWith('file:')) return { fn, file: url };
  const e = mapOf(url)?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (e?.originalSource) {
    const src = e.originalSource.replace(/^.*?(node_modules\/|src\/)/, '$1');
    return { fn, file: `${src}:${(e.originalLine ?? 0) + 1}` };
  }
  return { fn, file: path.basename(fileURLToPath(url)) };
};
const profiles = fs.existsSync(profDir) ? fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
for (const f of profiles) {
  const p = JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const w = where(byId.get(id)!);
    byFn.set(`${w.fn}  ${w.file}`, (byFn.get(`${w.fn}  ${w.file}`) ?? 0) + us);
    const area = w.file.startsWith('node_modules/') ? w.file.split('/').slice(0, w.file.split('/')[1]!.startsWith('@') ? 3 : 2).join('/')
      : w.file.startsWith('src/') ? w.file.replace(/:\d+$/, '') : w.fn.startsWith('(') ? w.fn : `node:${w.file.replace(/:\d+$/, '')}`;
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
  process.stdout.write(`\n${f}: ${(totalUs / 1e6).toFixed(2)} s sampled\n-- by area\n`);
  for (const [k, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${pct(us)}  ${k}\n`);
  process.stdout.write(`-- by function (self)\n`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
}
process.stdout.write(`\ncontrol plane left up in ${dir} (PROFILE_DOWN=1 npm run bench:profile stops it)\n`);
process.exit(0);
