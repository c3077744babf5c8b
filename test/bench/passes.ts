// Section "passes": N Deployments + N ScaledObjects (metrics-api, pollingInterval 1) for each size in
// BENCH_SIZES, three passes as the shipped ServiceAccount — cold (every object activates 0 -> 1),
// steady (1 -> 4), quiet (nothing changes) — and the start-up cost of dist/run.js against bare node.
import { deployment, scaledObject } from '../helpers/fixtures.ts';
import { BENCH_PASS_DEADLINE_MS, createOk, createMany, envNumbers, execFileP, log, measuredRun, metricsSource, mib, ms, reportOf, s, sleep, sum, table, verbs, type BenchContext, type MeasuredRun } from './common.ts';

interface PassRow { label: string; run: MeasuredRun; evaluated: number; scaled: number; statusWrites: number; events: number }

async function passesAt(c: BenchContext, n: number, url: string): Promise<{ rows: PassRow[]; createS: number }> {
  const { h } = c;
  const ns = await h.namespace(`bench-${n}`);
  log(`passes: creating ${n} Deployments and ScaledObjects in ${ns}`);
  const createS = await createMany(h, n, async (i) => {
    await createOk(h, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`w${i}`, 0));
    await createOk(h, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`w${i}`, {
      scaleTargetRef: { name: `w${i}` }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
  }, 16, `${n} objects`);
  log(`passes: created in ${createS.toFixed(1)} s`);
  const rows: PassRow[] = [];
  for (const label of ['cold (all activate 0 -> 1)', 'steady (1 -> 4)', 'quiet (nothing changes)']) {
    // pollingInterval 1: a second after the previous pass every object is due again
    await sleep(1100);
    const run = await measuredRun(c.dist, { h, kubeconfig: await c.kubeconfig(), args: ['--namespaces', ns, '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', BENCH_PASS_DEADLINE_MS] });
    const r = reportOf(run, `passes ${n} ${label}`);
    rows.push({ label, run, evaluated: r.objects.filter((o) => o.outcome === 'evaluated').length, scaled: r.objects.filter((o) => o.scaled).length,
      statusWrites: r.objects.filter((o) => o.statusWritten).length, events: sum(r.objects.map((o) => o.events.length)) });
    log(`passes: ${n} ${label}: ${run.wallS.toFixed(1)} s wall, ${run.cpuS.toFixed(2)} s CPU, exit ${run.code}`);
  }
  return { rows, createS };
}

async function median(cmd: string[], n = 15): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await execFileP(cmd[0]!, cmd.slice(1));
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)]!;
}

export async function passes(c: BenchContext): Promise<string> {
  const sizes = envNumbers('BENCH_SIZES', [1000, 10000]);
  const src = await metricsSource(7);
  const out: string[] = [];
  try {
    for (const n of sizes) {
      const { rows, createS } = await passesAt(c, n, src.url);
      out.push(`### Pass over ${n} ScaledObjects (metrics-api), real apiserver, as the shipped ServiceAccount\n`);
      out.push(`Created ${n} Deployments + ${n} ScaledObjects in ${createS.toFixed(1)} s. Process CPU is user + sys of the pass process (/usr/bin/time); `
        + 'apiserver / etcd CPU is utime + stime of those processes over the same interval (/proc/<pid>/stat).\n');
      out.push(table(['pass', 'wall', 'pass only', 'process CPU', 'CPU per evaluation', 'peak RSS', 'apiserver CPU', 'etcd CPU', 'evaluated', 'scaled', 'status writes', 'events created', 'API requests by verb'],
        rows.map((p) => [p.label, s(p.run.wallS), s((p.run.report?.durationMs ?? NaN) / 1000), s(p.run.cpuS, 2), ms((p.run.cpuS * 1000) / p.evaluated), mib(p.run.rssMiB),
          s(p.run.cluster['kube-apiserver']!, 2), s(p.run.cluster.etcd!, 2), p.evaluated, p.scaled, p.statusWrites, p.events, verbs(p.run.report?.requests)])));
      out.push('');
    }
  } finally {
    src.close();
  }
  const bare = await median([process.execPath, '-e', '0']);
  const version = await median([process.execPath, c.dist, '--version']);
  // what every run pays before its first object: a pass over a namespace with nothing in it
  const emptyNs = await c.h.namespace('bench-empty');
  const empties: MeasuredRun[] = [];
  for (let i = 0; i < 7; i++) empties.push(await measuredRun(c.dist, { h: c.h, kubeconfig: await c.kubeconfig(), args: ['--namespaces', emptyNs, '--lease-namespace', 'scalepass-system', '--dry-run'] }));
  const mid = <T>(xs: T[], f: (x: T) => number) => xs.map(f).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  out.push(`### Start-up\n\n${table(['command', 'median'], [['`node -e 0` (15 runs)', `${bare.toFixed(0)} ms`],
    ['`node dist/run.js --version` (15 runs)', `${version.toFixed(0)} ms (${(version / bare).toFixed(2)}x bare node)`],
    ['a pass over an empty namespace (7 runs): wall, process CPU, peak RSS', `${s(mid(empties, (r) => r.wallS), 2)}, ${s(mid(empties, (r) => r.cpuS), 2)}, ${mib(mid(empties, (r) => r.rssMiB))}`]])}\n`);
  return out.join('\n');
}
