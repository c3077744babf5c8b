// Section "shards": BENCH_SHARD_OBJECTS (60,000) ScaledObjects over BENCH_SHARDS (6) shards. No kubelet
// runs containers here, so the bench runs the indexes an Indexed Job would give its pods
// (JOB_COMPLETION_INDEX=i, SCALEPASS_SHARD_COUNT=n), one after another by default so each shard's cost
// is measured alone, and checks from the JSON reports that every object was evaluated exactly once.
// Before that it measures what a Deployment costs the cluster against a bench custom resource with
// /scale (a Deployment brings a ReplicaSet from the controller-manager) and picks the scale target.
import fs from 'node:fs';
import path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { deployment, scaledObject } from '../helpers/fixtures.ts';
import {
  BENCH_PASS_DEADLINE_MS, createOk, BENCH_GROUP, BENCH_KIND, benchTargetRef, benchWorkload, cpuMeter, createMany, ensureBenchCrd, envNumber, etcdUsage, log, measuredRun, metricsSource, mib, ms,
  reportOf, ROOT, s, sleep, table, verbs, type BenchContext, type MeasuredRun,
} from './common.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** completions and parallelism the sharded overlay gives the CronJob's Job */
function overlayShape(): { completions?: number; parallelism?: number } {
  const k = loadYaml(fs.readFileSync(path.join(ROOT, 'kustomize/overlays/sharded/kustomization.yaml'), 'utf8')) as { patches?: { patch?: string }[] };
  const ops = (k.patches ?? []).flatMap((p) => (p.patch ? (loadYaml(p.patch) as { path: string; value: unknown }[]) : []));
  const val = (suffix: string) => ops.find((o) => o.path.endsWith(suffix))?.value as number | undefined;
  return { completions: val('/completions'), parallelism: val('/parallelism') };
}

interface CreationCost { kind: string; count: number; createS: number; settledS: number; cpu: Record<string, number>; etcdBytes: number }

/** Creates `count` scale targets in a namespace of their own and waits for what the cluster does with them. */
async function creationCost(c: BenchContext, kind: 'Deployment' | 'Workload', count: number): Promise<CreationCost> {
  const { h } = c;
  const ns = await h.namespace(`bench-probe-${kind.toLowerCase()}`);
  const meter = cpuMeter(h, ['kube-apiserver', 'etcd', 'kube-controller-manager']);
  const before = await etcdUsage(h);
  const t0 = Date.now();
  const createS = await createMany(h, count, async (i) => {
    if (kind === 'Deployment') await createOk(h, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`p${i}`, 0));
    else await createOk(h, `/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}`, benchWorkload(`p${i}`));
  });
  if (kind === 'Deployment') {
    // the controller-manager's share: a ReplicaSet per Deployment and the Deployment's status
    for (;;) {
      const rs = await h.admin.list<{ items: unknown[] }>(`/apis/apps/v1/namespaces/${ns}/replicasets`);
      const ds = await h.admin.list<{ items: { metadata: { generation?: number }; status?: { observedGeneration?: number } }[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`);
      if (rs.items.length >= count && ds.items.every((d) => d.status?.observedGeneration === d.metadata.generation)) break;
      await sleep(500);
    }
  }
  const settledS = (Date.now() - t0) / 1000;
  const cpu = meter();
  const after = await etcdUsage(h);
  return { kind, count, createS, settledS, cpu, etcdBytes: after.dbSizeInUse - before.dbSizeInUse };
}

export async function shards(c: BenchContext): Promise<string> {
  const { h } = c;
  const total = envNumber('BENCH_SHARD_OBJECTS', 60_000);
  const count = envNumber('BENCH_SHARDS', 6);
  const parallel = envNumber('BENCH_SHARD_PARALLELISM', 1);
  const probeN = envNumber('BENCH_SHARD_PROBE', Math.min(1000, Math.ceil(total / count)));
  const overlay = overlayShape();
  const out: string[] = [`### Sharded: ${total} ScaledObjects over ${count} shards\n`];
  out.push(`The sharded overlay (kustomize/overlays/sharded) runs an Indexed Job with completions ${overlay.completions ?? '?'}, parallelism ${overlay.parallelism ?? '?'}`
    + `${overlay.completions !== count ? ` (this bench runs ${count} indexes, as issue 11 asks)` : ''}. No kubelet runs containers here: the bench runs index 0..${count - 1} `
    + `as the Job's pods would get them (JOB_COMPLETION_INDEX=i, SCALEPASS_SHARD_COUNT=${count}), ${parallel === 1 ? 'one after another, so each shard\'s cost is its own' : `${parallel} at a time`}.\n`);

  // what each kind of scale target costs, measured on a sample and projected to the full count
  await ensureBenchCrd(h);
  log(`shards: creation cost of ${probeN} Deployments vs ${probeN} bench Workloads`);
  const dep = await creationCost(c, 'Deployment', probeN);
  const wl = await creationCost(c, 'Workload', probeN);
  const scale = total / probeN;
  const projected = (x: CreationCost) => ({ s: x.settledS * scale, cpu: (x.cpu['kube-apiserver']! + x.cpu.etcd! + x.cpu['kube-controller-manager']!) * scale, bytes: x.etcdBytes * scale });
  const pd = projected(dep);
  const pw = projected(wl);
  const choice = (process.env.BENCH_SHARD_TARGET ?? 'auto').toLowerCase();
  if (!['auto', 'deployment', 'workload'].includes(choice)) throw new Error(`BENCH_SHARD_TARGET: expected auto, deployment or workload, got ${JSON.stringify(choice)}`);
  // a Deployment is what users scale; it loses only when it makes the bench much slower or heavier
  const useDeployments = choice === 'deployment' || (choice === 'auto' && pd.s <= 1.5 * pw.s && pd.cpu <= 1.5 * pw.cpu);
  out.push(table(['scale target', `create ${probeN}`, 'until settled (ReplicaSets, status)', 'apiserver + etcd + controller-manager CPU', 'etcd bytes in use', `projected (linearly) for ${total}: time`, 'CPU', 'etcd'], [
    ['Deployment', s(dep.createS), s(dep.settledS), s(dep.cpu['kube-apiserver']! + dep.cpu.etcd! + dep.cpu['kube-controller-manager']!), mib(dep.etcdBytes / MiB), s(pd.s, 0), s(pd.cpu, 0), mib(pd.bytes / MiB)],
    [`bench custom resource with /scale (${BENCH_KIND.kind}.${BENCH_GROUP})`, s(wl.createS), s(wl.settledS), s(wl.cpu['kube-apiserver']! + wl.cpu.etcd! + wl.cpu['kube-controller-manager']!), mib(wl.etcdBytes / MiB), s(pw.s, 0), s(pw.cpu, 0), mib(pw.bytes / MiB)],
  ]));
  out.push(`\nScale target used: **${useDeployments ? 'Deployment' : `the bench custom resource (${BENCH_KIND.kind})`}** — `
    + (choice !== 'auto' ? `set by BENCH_SHARD_TARGET=${choice}.` : useDeployments
      ? 'Deployments cost within 1.5x of the custom resource, and they are what users scale.'
      : `${total} Deployments would take about ${(pd.s / 60).toFixed(0)} min and ${pd.cpu.toFixed(0)} CPU-s of control plane against ${(pw.s / 60).toFixed(0)} min and ${pw.cpu.toFixed(0)} CPU-s `
        + `(${(dep.count / dep.settledS).toFixed(1)} Deployments/s settle: each needs a ReplicaSet and status writes from the controller-manager, whose client is rate-limited, --kube-api-qps 20 by default); `
        + 'scalepass scales anything with /scale, so the sharding numbers hold for both (the custom resource is read by one GET /scale per object, a Deployment from one LIST per namespace).')
    + '\n');

  const src = await metricsSource(2);
  try {
    const ns = await h.namespace('bench-shards');
    log(`shards: creating ${total} ${useDeployments ? 'Deployments' : 'Workloads'} and ScaledObjects in ${ns}`);
    const createS = await createMany(h, total, async (i) => {
      if (useDeployments) await createOk(h, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(`s${i}`, 0));
      else await createOk(h, `/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}`, benchWorkload(`s${i}`));
      await createOk(h, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`s${i}`, {
        scaleTargetRef: useDeployments ? { name: `s${i}` } : benchTargetRef(`s${i}`), pollingInterval: 1,
        triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    }, 16, `${total} objects`);
    const afterCreate = await etcdUsage(h);
    log(`shards: created in ${createS.toFixed(0)} s; etcd ${(afterCreate.dbSize / MiB).toFixed(0)} MiB`);

    // round 1: cold (every object activates 0 -> 1); round 2, with BENCH_SHARD_ROUNDS=2: quiet (the source
    // serves 2 against target 2: one replica wanted, which each has since round 1; nothing changes), the cost of a usual minute
    const rounds = Math.min(2, envNumber('BENCH_SHARD_ROUNDS', 1));
    const byRound: MeasuredRun[][] = [];
    for (let round = 0; round < rounds; round++) {
      // pollingInterval 1: a second after the shard's previous pass its objects are due again
      if (round > 0) await sleep(1100);
      const runs: MeasuredRun[] = new Array(count);
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
        while (next < count) {
          const i = next++;
          runs[i] = await measuredRun(c.dist, { h, kubeconfig: await c.kubeconfig(),
            args: ['--namespaces', ns, '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', BENCH_PASS_DEADLINE_MS],
            env: { JOB_COMPLETION_INDEX: String(i), SCALEPASS_SHARD_COUNT: String(count) } });
          log(`shards: round ${round + 1} index ${i}: ${runs[i]!.wallS.toFixed(1)} s wall, ${runs[i]!.cpuS.toFixed(1)} s CPU, exit ${runs[i]!.code}`);
        }
      }));
      byRound.push(runs);
    }
    const afterPasses = await etcdUsage(h);

    out.push(`Created ${total} ${useDeployments ? 'Deployments' : 'Workloads'} + ${total} ScaledObjects in ${createS.toFixed(0)} s `
      + `(${(total / createS).toFixed(1)} pairs/s, 16 requests in flight).\n`);
    const rows: (string | number)[][] = [];
    const expected = total / count;
    const checks: string[] = [];
    byRound.forEach((runs, round) => {
      // every object exactly once over the shards
      const seen = new Map<string, number>();
      let sizesOk = true;
      runs.forEach((r, i) => {
        const rep = reportOf(r, `shard ${i}`);
        for (const o of rep.objects) seen.set(`${o.namespace}/${o.name}`, (seen.get(`${o.namespace}/${o.name}`) ?? 0) + 1);
        const evaluated = rep.objects.filter((o) => o.outcome === 'evaluated').length;
        const off = (rep.objects.length - expected) / expected;
        if (Math.abs(off) > 0.05) sizesOk = false;
        rows.push([round === 0 ? 'cold' : 'quiet', i, rep.objects.length, `${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)} %`, evaluated, rep.objects.filter((o) => o.scaled).length,
          s(r.wallS), s(rep.durationMs / 1000), s(r.cpuS, 2), ms((r.cpuS * 1000) / evaluated), mib(r.rssMiB),
          s(r.cluster['kube-apiserver']!, 2), s(r.cluster.etcd!, 2), r.wallS <= 50 ? 'yes' : 'no', verbs(rep.requests)]);
      });
      // a shard that failed still owned its objects; its numbers are not a pass's cost, so say so
      const failed = runs.flatMap((r, i) => (r.report?.objects ?? []).filter((o) => o.outcome === 'failed').map((o) => ({ i, detail: o.detail ?? '' })));
      const twice = [...seen.values()].filter((v) => v > 1).length;
      const missing = Array.from({ length: total }, (_, i) => `${ns}/s${i}`).filter((k) => !seen.has(k)).length;
      const binomialSd = Math.sqrt(total * (1 / count) * (1 - 1 / count)) / expected;
      const label = rounds > 1 ? ` (${round === 0 ? 'cold' : 'quiet'} round)` : '';
      checks.push(`- every object exactly once${label}: **${twice === 0 && missing === 0 ? 'yes' : 'NO'}** (${seen.size} distinct objects in ${count} reports; in two shards: ${twice}; missing: ${missing})`);
      if (failed.length) checks.push(`- objects that failed${label}: **${failed.length}** (shards ${[...new Set(failed.map((f) => f.i))].join(', ')}; first: ${failed[0]!.detail.slice(0, 200)})`);
      if (round === 0) checks.push(`- shard sizes within ±5 % of ${expected.toFixed(0)}: **${sizesOk ? 'yes' : 'NO'}** (a uniform hash gives ±${(binomialSd * 100).toFixed(1)} % standard deviation at this size)`);
    });
    out.push(table(['pass', 'shard', 'objects', 'vs total/shards', 'evaluated', 'scaled', 'wall', 'pass only', 'process CPU', 'CPU per evaluation', 'peak RSS', 'apiserver CPU', 'etcd CPU', 'within 50 s (passDeadlineMs)', 'API requests by verb'], rows));
    out.push('');
    out.push(...checks);
    out.push(`- etcd: ${(afterCreate.dbSize / MiB).toFixed(0)} MiB after creation, ${(afterPasses.dbSize / MiB).toFixed(0)} MiB (${(afterPasses.dbSizeInUse / MiB).toFixed(0)} MiB in use) after the passes, `
      + `quota ${(afterPasses.quota / GiB).toFixed(1)} GiB (${((afterPasses.dbSize / afterPasses.quota) * 100).toFixed(1)} % used); alarms: ${afterPasses.alarms.length ? afterPasses.alarms.join(', ') : 'none'}`);
    return out.join('\n') + '\n';
  } finally {
    src.close();
  }
}
