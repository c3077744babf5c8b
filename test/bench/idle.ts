// Section "idle": what 100 ScaledObjects that never scale cost per hour (pollingInterval 30,
// metrics-api value below activationTargetValue, Deployments at 0). Mode `once`: a few runs' user+sys,
// scaled to the 60 runs an hour of `* * * * *`; mode `period`: one run that stays for its period,
// started at a minute boundary as the CronJob would, scaled to 60 periods.
import { deployment, scaledObject } from '../helpers/fixtures.ts';
import { createOk, createMany, envNumber, hasPeriodMode, log, measuredRun, metricsSource, mib, reportOf, s, sleep, table, type BenchContext, type MeasuredRun } from './common.ts';

const INTERVAL_S = 30;

function perHour(runs: MeasuredRun[], runsPerHour: number): { proc: number; apiserver: number; etcd: number } {
  const mean = (f: (r: MeasuredRun) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
  return { proc: mean((r) => r.cpuS) * runsPerHour, apiserver: mean((r) => r.cluster['kube-apiserver']!) * runsPerHour, etcd: mean((r) => r.cluster.etcd!) * runsPerHour };
}

export async function idle(c: BenchContext): Promise<string> {
  const { h } = c;
  const n = envNumber('BENCH_IDLE_OBJECTS', 100);
  const runs = envNumber('BENCH_IDLE_RUNS', 3);
  const src = await metricsSource(3);
  try {
    const ns = await h.namespace('bench-idle');
    log(`idle: creating ${n} idle ScaledObjects in ${ns}`);
    await createMany(h, n, async (i) => {
      await createOk(h, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`idle${i}`, 0));
      await createOk(h, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`idle${i}`, {
        scaleTargetRef: { name: `idle${i}` }, pollingInterval: INTERVAL_S,
        // the source serves 3: below activation, so nothing ever scales
        triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2', activationTargetValue: '5' } }] }));
    });
    const args = ['--namespaces', ns, '--lease-namespace', 'scalepass-system'];
    // the first pass writes every object's first status; an idle hour consists of the passes after it
    const warm = await measuredRun(c.dist, { h, kubeconfig: await c.kubeconfig(), args });
    reportOf(warm, 'idle warm-up');
    const once: MeasuredRun[] = [];
    for (let i = 0; i < runs; i++) {
      // more than pollingInterval after the previous pass: every object is due, as in a run a minute later
      await sleep((INTERVAL_S + 1) * 1000);
      const r = await measuredRun(c.dist, { h, kubeconfig: await c.kubeconfig(), args });
      const rep = reportOf(r, `idle once run ${i + 1}`);
      const evaluated = rep.objects.filter((o) => o.outcome === 'evaluated').length;
      if (evaluated !== n || rep.objects.some((o) => o.scaled)) throw new Error(`idle once run ${i + 1}: ${evaluated}/${n} evaluated, ${rep.objects.filter((o) => o.scaled).length} scaled; expected all evaluated, none scaled`);
      log(`idle: once run ${i + 1}: ${r.cpuS.toFixed(2)} s CPU, ${r.wallS.toFixed(1)} s wall`);
      once.push(r);
    }
    const o = perHour(once, 60);
    const rows: (string | number)[][] = [[`once (${runs} runs after a warm-up, x 60 runs/h)`, s(once.reduce((a, r) => a + r.wallS, 0) / runs),
      s(once.reduce((a, r) => a + r.cpuS, 0) / runs, 2), mib(Math.max(...once.map((r) => r.rssMiB))), s(o.proc, 0), s(o.apiserver, 0), s(o.etcd, 0)]];

    if (!(await hasPeriodMode(c.dist))) {
      rows.push(['period', 'mode period: not available in this build', '', '', '', '', '']);
    } else {
      // a run of mode period lasts until just before the next tick: start it on a tick, as the CronJob does
      await sleep(60_000 - (Date.now() % 60_000) + 50);
      const r = await measuredRun(c.dist, { h, kubeconfig: await c.kubeconfig(), args: [...args, '--mode', 'period'] });
      if (r.code !== 0) throw new Error(`idle period run: exit ${r.code}; stderr:\n${r.stderr.slice(-3000)}`);
      const p = perHour([r], 60);
      rows.push(['period (one run started on a minute tick, x 60 periods/h)', s(r.wallS), s(r.cpuS, 2), mib(r.rssMiB), s(p.proc, 0), s(p.apiserver, 0), s(p.etcd, 0)]);
    }
    return [`### Idle cost: ${n} ScaledObjects that never scale (pollingInterval ${INTERVAL_S}, metrics-api below activation)\n`,
      table(['mode', 'wall per run', 'process CPU per run', 'peak RSS', 'process CPU-seconds per hour', 'apiserver CPU-s/h', 'etcd CPU-s/h'], rows), ''].join('\n');
  } finally {
    src.close();
  }
}
