// Section "reaction": from the moment work arrives in Redis (LPUSH 64 items onto an object's own list)
// to the first replica and to the full 64, for many ScaledObjects at KEDA's defaults (pollingInterval
// 30, no behavior, maxReplicaCount 64, listLength 1), work arriving at a random moment for each. The
// bench plays the CronJob controller (`* * * * *`, concurrencyPolicy Forbid: a run starts on each
// minute tick unless the previous one still runs) and reads every target's /scale spec.replicas by a
// LIST every 200 ms. Next to it, KEDA + the HPA's loops modelled for the same arrivals.
import { Redis } from 'ioredis';
import crypto from 'node:crypto';
import { scaledObject } from '../helpers/fixtures.ts';
import { kedaReaction } from './keda-model.ts';
import {
  createOk, BENCH_GROUP, BENCH_KIND, benchTargetRef, benchWorkload, createMany, ensureBenchCrd, envNumber, hasPeriodMode, log, percentile, s, sleep, spawnRun, table, type BenchContext,
} from './common.ts';

const ITEMS = 64;
const POLL_MS = 200;

interface Target { name: string; list: string; arrived?: number; first?: number; full?: number }
interface RunLog { start: number; end?: number; code?: number }

/** Starts a run on every minute tick, never two at once (Forbid), until stopped; resolves when the last run ended. */
function cronJobPlayer(start: () => Promise<{ code: number; stderr: string }>): { stop(): Promise<RunLog[]>; runs: RunLog[]; skipped: () => number } {
  const runs: RunLog[] = [];
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let skipped = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    if (running) {
      skipped++;
    } else {
      const r: RunLog = { start: Date.now() };
      runs.push(r);
      running = start().then((x) => {
        r.end = Date.now();
        r.code = x.code;
        log(`reaction: run ${runs.length} ended after ${((r.end - r.start) / 1000).toFixed(1)} s, exit ${x.code}${x.code !== 0 ? `: ${x.stderr.slice(-500)}` : ''}`);
        running = undefined;
      });
    }
    schedule();
  };
  const schedule = () => { timer = setTimeout(tick, 60_000 - (Date.now() % 60_000)); };
  schedule();
  return {
    runs, skipped: () => skipped,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      return runs;
    },
  };
}

async function measureMode(c: BenchContext, redis: Redis, mode: 'once' | 'period', n: number, windowS: number, timeoutS: number): Promise<{ targets: Target[]; runs: RunLog[]; skipped: number }> {
  const { h } = c;
  const ns = await h.namespace(`bench-react-${mode}`);
  const id = crypto.randomBytes(3).toString('hex');
  const targets: Target[] = Array.from({ length: n }, (_, i) => ({ name: `r${i}`, list: `bench-${id}-${i}` }));
  await redis.del(...targets.map((t) => t.list));
  await createMany(h, n, async (i) => {
    const t = targets[i]!;
    await createOk(h, `/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}`, benchWorkload(t.name));
    // KEDA's defaults: pollingInterval 30, no advanced.horizontalPodAutoscalerConfig.behavior
    await createOk(h, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(t.name, {
      scaleTargetRef: benchTargetRef(t.name), maxReplicaCount: ITEMS,
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: t.list, listLength: '1' } }] }));
  }, 8);

  const args = ['--namespaces', ns, '--lease-namespace', 'scalepass-system', '--output', 'json', ...(mode === 'period' ? ['--mode', 'period'] : [])];
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, SCALEPASS_LOG_LEVEL: 'warn' };
  const player = cronJobPlayer(async () => spawnRun(c.dist, args, { ...env, KUBECONFIG: await c.kubeconfig() }).done);
  log(`reaction ${mode}: ${n} ScaledObjects in ${ns}; the CronJob player starts runs on minute ticks`);

  // the objects are known to scalepass before work arrives, as in a running cluster: wait for the first run to end
  while (!player.runs[0]?.end) await sleep(POLL_MS);
  const arrivals = targets.map(async (t) => {
    await sleep(Math.random() * windowS * 1000);
    await redis.lpush(t.list, ...Array.from({ length: ITEMS }, (_, k) => `item-${k}`));
    t.arrived = Date.now();
  });

  // the watcher, and the scale target's controller: status.replicas follows spec.replicas, which the
  // HPA's AverageValue arithmetic reads as the current count
  const deadline = Date.now() + timeoutS * 1000;
  const statusOf = new Map<string, number>();
  let progress = '';
  while (Date.now() < deadline && targets.some((t) => t.full === undefined)) {
    const at = Date.now();
    const l = await h.admin.list<{ items: { metadata: { name: string }; spec?: { replicas?: number } }[] }>(`/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}`);
    for (const item of l.items) {
      const t = targets.find((x) => x.name === item.metadata.name)!;
      const r = item.spec?.replicas ?? 0;
      if (t.arrived !== undefined) {
        if (r >= 1) t.first ??= at;
        if (r >= ITEMS) t.full ??= at;
      }
      if (statusOf.get(t.name) !== r) {
        await h.admin.mergePatch(`/apis/${BENCH_GROUP}/v1/namespaces/${ns}/${BENCH_KIND.plural}/${t.name}/status`, { status: { replicas: r } });
        statusOf.set(t.name, r);
      }
    }
    const now = `${targets.filter((x) => x.arrived !== undefined).length} arrived, ${targets.filter((x) => x.first !== undefined).length} at ≥ 1, ${targets.filter((x) => x.full !== undefined).length} at ${ITEMS}`;
    if (now !== progress) log(`reaction ${mode}: ${(progress = now)}`);
    await sleep(Math.max(0, POLL_MS - (Date.now() - at)));
  }
  await Promise.all(arrivals);
  const runs = await player.stop();
  await redis.del(...targets.map((t) => t.list));
  return { targets, runs, skipped: player.skipped() };
}

export async function reaction(c: BenchContext): Promise<string> {
  const n = envNumber('BENCH_REACTION_OBJECTS', 50);
  const windowS = envNumber('BENCH_REACTION_WINDOW_S', 60);
  const timeoutS = envNumber('BENCH_REACTION_TIMEOUT_S', 900);
  await ensureBenchCrd(c.h);
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const allArrivals: number[] = [];
  try {
    for (const mode of ['once', 'period'] as const) {
      if (mode === 'period' && !(await hasPeriodMode(c.dist))) {
        rows.push([`scalepass, mode period`, 'mode period: not available in this build', '', '', '', '']);
        continue;
      }
      const m = await measureMode(c, redis, mode, n, windowS, timeoutS);
      const first = m.targets.filter((t) => t.first !== undefined).map((t) => (t.first! - t.arrived!) / 1000);
      const full = m.targets.filter((t) => t.full !== undefined).map((t) => (t.full! - t.arrived!) / 1000);
      allArrivals.push(...m.targets.map((t) => t.arrived! / 1000));
      const missing = m.targets.filter((t) => t.full === undefined).length;
      rows.push([`scalepass, mode ${mode} (measured; ${m.runs.length} runs${m.skipped ? `, ${m.skipped} ticks skipped by Forbid` : ''})`,
        s(percentile(first, 50)), s(percentile(first, 95)), s(percentile(full, 50)), s(percentile(full, 95)),
        missing ? `${n - missing}/${n} reached ${ITEMS} within ${timeoutS} s` : `${n}/${n}`]);
      const failedRuns = m.runs.filter((r) => r.code !== 0).length;
      if (failedRuns) notes.push(`mode ${mode}: ${failedRuns} of ${m.runs.length} runs exited non-zero (see the bench log)`);
    }
    const model = kedaReaction(allArrivals.length ? allArrivals : Array.from({ length: n }, () => Math.random() * windowS),
      { pollingIntervalS: 30, hpaSyncS: 15, wanted: ITEMS, samplesPerArrival: 200, seed: 11 });
    rows.push(['KEDA + HPA (model of their loops, not a measurement)', s(percentile(model.first, 50)), s(percentile(model.first, 95)),
      s(percentile(model.full, 50)), s(percentile(model.full, 95)), `${model.first.length} draws`]);
  } finally {
    redis.disconnect();
  }
  return [`### Reaction: ${n} ScaledObjects, Redis lists, work (${ITEMS} items) arriving at a random moment within ${windowS} s for each\n`,
    `KEDA defaults: pollingInterval 30 s, no behavior, maxReplicaCount ${ITEMS}, listLength 1. Times from the LPUSH's reply to the target's `
    + `/scale spec.replicas ≥ 1 and = ${ITEMS}, read by a LIST every ${POLL_MS} ms. The bench starts \`dist/run.js\` on every minute tick `
    + '(no Job or pod start-up delay, which a real CronJob adds). Targets are a bench custom resource with /scale whose status.replicas '
    + 'the bench sets to spec.replicas, as a controller would. The KEDA row is a model: KEDA polls at a random phase each pollingInterval '
    + 'and activates 0 -> 1; the HPA syncs every 15 s at a random phase and scales up to max(2 x current, 4) per sync; same arrival times, '
    + '200 phase draws each.\n',
    table(['', 'first replica p50', 'first replica p95', `${ITEMS} replicas p50`, `${ITEMS} replicas p95`, 'reached'], rows),
    notes.length ? `\n${notes.join('\n')}\n` : ''].join('\n');
}
