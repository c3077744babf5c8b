// mode period: one `node dist/run.js` that stays for its period and evaluates each object at its own
// pollingInterval ticks, in rounds, against the real apiserver and collector. Nothing here waits for a
// guessed delay: expected counts are derived from the rounds' own times and the objects' UIDs (the same
// phase-shifted ticks as src/scaling/due.ts), and the test acts when the run's log says a round ended.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Harness } from '../helpers/harness.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import type { MetricPoint } from '../helpers/otlp-file.ts';
import { runScalepass, startScalepass, type RunResult } from '../helpers/run.ts';
import { until } from '../helpers/until.ts';
import { create, deployment, scaledObject, specReplicas, type PassJson, suiteSetup } from '../helpers/fixtures.ts';
import { uidHash } from '../../src/scaling/due.ts';
import { MIN_ROUND_MS } from '../../src/period.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/scalepass-system/leases';
const HISTORY = 'scalepass.dev/pass-history';
// a schedule whose next tick is far away: the deadline alone ends these runs (the last test checks the schedule's bound)
const FAR = '0 0 1 1 *';

interface RoundJson extends PassJson { mode: string; round: number; outcome: string; nextTick?: number }
interface LeaseLive { metadata: { name: string; annotations?: Record<string, string> }; spec: { holderIdentity?: string } }

/** The run's stdout: one JSON report per round. */
function rounds(r: RunResult): RoundJson[] {
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  assert.ok(lines.length > 0, `no round reported (exit ${r.code}); stderr:\n${r.stderr.slice(-3000)}`);
  return lines.map((l) => JSON.parse(l) as RoundJson);
}

/** The object's latest tick at or before `at`, as due.ts places it: k * period + (uidHash % period). */
function latestTick(uid: string, intervalS: number, at: number): number {
  const period = intervalS * 1000;
  const phase = uidHash(uid) % period;
  return Math.floor((at - phase) / period) * period + phase;
}

/** Per round, whether the object is due in it: the first round of a new shard scope evaluates everything. */
function expectedDue(uid: string, intervalS: number, rs: readonly RoundJson[]): boolean[] {
  return rs.map((r, i) => i === 0 || latestTick(uid, intervalS, r.start) > rs[i - 1]!.start);
}

const outcomeOf = (r: RoundJson, name: string) => r.objects.find((o) => o.name === name)?.outcome;

describe('mode period', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(3)));
  after(async () => { await src.close(); });

  const trigger = () => ({ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } });
  const args = (ns: string, deadlineMs: number, extra: string[] = []) =>
    ['--mode', 'period', '--namespaces', ns, '--output', 'json', '--lease-namespace', 'scalepass-system', '--pass-deadline-ms', String(deadlineMs), '--schedule', FAR, ...extra];
  const env = (run: string) => ({ KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` });
  const uidOf = async (ns: string, name: string) =>
    (await h.admin.get<{ metadata: { uid: string } }>(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/${name}`)).metadata.uid;
  const mine = (run: string) => (p: MetricPoint) => p.resource['scalepass.test.run'] === run;

  it('evaluates each object at its own pollingInterval ticks: every 2 s about five times in 10 s, every 30 s once or twice', async () => {
    const ns = await h.namespace('e2e-period-ticks');
    for (const [name, interval] of [['fast', 2], ['slow', 30]] as const) {
      await create(h, ns, deployment(name, 0));
      await create(h, ns, scaledObject(name, { scaleTargetRef: { name }, pollingInterval: interval, triggers: [trigger()] }));
    }
    const r = await runScalepass(args(ns, 10_000), env(crypto.randomUUID()));
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const rs = rounds(r);
    assert.ok(rs.every((x) => x.mode === 'period' && x.outcome === 'success'));
    assert.deepEqual(rs.map((x) => x.round), rs.map((_, i) => i + 1));
    for (let i = 1; i < rs.length; i++) assert.ok(rs[i]!.start - rs[i - 1]!.start >= 1000, 'never two rounds within a second');

    const fast = expectedDue(await uidOf(ns, 'fast'), 2, rs);
    const slow = expectedDue(await uidOf(ns, 'slow'), 30, rs);
    assert.deepEqual(rs.map((x) => outcomeOf(x, 'fast') === 'evaluated'), fast, 'fast: evaluated exactly in the rounds its ticks fell in');
    assert.deepEqual(rs.map((x) => outcomeOf(x, 'slow') === 'evaluated'), slow, 'slow: evaluated exactly in the rounds its ticks fell in');
    const count = (xs: boolean[]) => xs.filter(Boolean).length;
    // the run lasts 10 s from process start: its first round, then the ticks of the next ~9 s
    assert.ok(count(fast) >= 4 && count(fast) <= 6, `fast evaluated ${count(fast)} times`);
    assert.ok(count(slow) >= 1 && count(slow) <= 2, `slow evaluated ${count(slow)} times`);
    // each round wakes for a tick: every round after the first evaluates something
    for (const [i, x] of rs.entries()) assert.ok(fast[i] || slow[i], `round ${x.round} evaluated nothing`);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/fast`), 2);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/slow`), 2);
  });

  it('picks up a ScaledObject created, and drops one deleted, while the run is in its period', async () => {
    const ns = await h.namespace('e2e-period-changes');
    for (const name of ['stays', 'gone']) {
      await create(h, ns, deployment(name, 0));
      await create(h, ns, scaledObject(name, { scaleTargetRef: { name }, pollingInterval: 1, triggers: [trigger()] }));
    }
    await create(h, ns, deployment('late', 0));
    const run = startScalepass(args(ns, 15_000), env(crypto.randomUUID()));
    await run.waitForLog((l) => l.msg === 'round complete' && l.round === 1);
    await create(h, ns, scaledObject('late', { scaleTargetRef: { name: 'late' }, pollingInterval: 1, triggers: [trigger()] }));
    await h.admin.delete(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/gone`);
    // the run, not this test, scales the new object's target
    await until('the late ScaledObject\'s Deployment scaled to 2 by the running run', async () =>
      (await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/late`)) === 2 ? true : undefined, 20_000);
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const rs = rounds(r);
    assert.equal(outcomeOf(rs[0]!, 'late'), undefined, 'not there in the first round');
    assert.equal(outcomeOf(rs[0]!, 'gone'), 'evaluated');
    const firstLate = rs.findIndex((x) => outcomeOf(x, 'late') !== undefined);
    assert.ok(firstLate > 0, 'the new object appears in a later round');
    const lateEval = rs.find((x) => outcomeOf(x, 'late') === 'evaluated')!;
    assert.equal(lateEval.objects.find((o) => o.name === 'late')!.desired, 2);
    assert.ok(rs.slice(firstLate).every((x) => outcomeOf(x, 'late') !== undefined), 'and stays in every round after');
    const firstWithout = rs.findIndex((x) => outcomeOf(x, 'gone') === undefined);
    assert.ok(firstWithout > 0, 'the deleted object leaves a later round');
    assert.ok(rs.slice(firstWithout).every((x) => outcomeOf(x, 'gone') === undefined), 'and never comes back');
    assert.ok(rs.every((x) => outcomeOf(x, 'stays') !== undefined), 'the untouched object is in every round');
  });

  it('SIGTERM mid-run: exits 143, gives the lease back with the rounds in its history, and flushes the metrics', async () => {
    const ns = await h.namespace('e2e-period-sigterm');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger()] }));
    const id = crypto.randomUUID();
    const run = startScalepass(args(ns, 60_000), env(id));
    await run.waitForLog((l) => l.msg === 'round complete' && l.round === 2);
    process.kill(run.pid, 'SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 143, r.stderr.slice(-3000));
    const rs = rounds(r);
    assert.ok(rs.length >= 2);

    const iso = (ms: number) => new Date(ms).toISOString();
    const leases = await h.admin.list<{ items: LeaseLive[] }>(LEASES);
    const lease = leases.items.find((l) => l.metadata.annotations?.[HISTORY]?.includes(iso(rs[0]!.start)));
    assert.ok(lease, 'the shard lease records the first round');
    assert.ok(!lease.spec.holderIdentity, `given back, held by "${lease.spec.holderIdentity}"`);
    const history = lease.metadata.annotations![HISTORY]!.split(',');
    for (const x of rs) assert.ok(history.includes(iso(x.start)), `round ${x.round} (${iso(x.start)}) in the history ${history.join(',')}`);
    // a round in flight at the signal was recorded before it started: never a later round than the history says
    assert.ok(history.length - rs.length <= 1, history.join(','));

    const pts = await h.waitForMetrics((ps) => ps.some((p) => p.name === 'scalepass.pass.duration') && ps.some((p) => p.name === 'scalepass.pass.rounds'), 15_000, mine(id));
    assert.equal(pts.find((p) => p.name === 'scalepass.pass.duration')!.attrs.outcome, 'terminated');
    const roundsCounted = pts.filter((p) => p.name === 'scalepass.pass.rounds').reduce((n, p) => n + p.value, 0);
    assert.equal(roundsCounted, rs.length, 'one count per completed round');
  });

  it('killed mid-run (no SIGTERM): the Lease still holds every round the run reported, each written before it evaluated', async () => {
    const ns = await h.namespace('e2e-period-kill');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger()] }));
    const run = startScalepass(args(ns, 60_000), env(crypto.randomUUID()));
    await run.waitForLog((l) => l.msg === 'round complete' && l.round === 2);
    run.kill();
    const r = await run.done;
    const rs = rounds(r);
    const iso = (ms: number) => new Date(ms).toISOString();
    const leases = await h.admin.list<{ items: LeaseLive[] }>(LEASES);
    const lease = leases.items.find((l) => l.metadata.annotations?.[HISTORY]?.includes(iso(rs[0]!.start)))!;
    assert.ok(lease, 'the shard lease records the first round');
    assert.ok(lease.spec.holderIdentity, 'not given back: it expires by its duration');
    const history = lease.metadata.annotations![HISTORY]!.split(',');
    // every evaluation the run reported is at or before a recorded pass: a later run never reads it as earlier
    for (const x of rs) assert.ok(history.includes(iso(x.start)), `round ${x.round} (${iso(x.start)}) in the history ${history.join(',')}`);
    assert.ok(history.length - rs.length <= 1, `at most the round in flight beyond the reported ones: ${history.join(',')}`);
  });

  it('ends by itself at min(start + passDeadlineMs, next scheduled tick - flushTimeoutMs - 1 s): no round starts after it, exit 0', async () => {
    const ns = await h.namespace('e2e-period-end');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger()] }));
    // the real one-minute schedule; a flush timeout sized so that its bound falls ~5 s from now, well before the 20 s deadline
    let untilMinute = 60_000 - (Date.now() % 60_000);
    if (untilMinute < 12_000) {
      await new Promise((r) => setTimeout(r, untilMinute + 100)); // not a wait for the cluster: the clock must be past the minute
      untilMinute = 60_000 - (Date.now() % 60_000);
    }
    const flushMs = untilMinute - 1000 - 5000;
    const r = await runScalepass(args(ns, 20_000, ['--schedule', '* * * * *', '--flush-timeout-ms', String(flushMs)]), env(crypto.randomUUID()));
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const stay = r.logs.find((l) => String(l.msg).startsWith('staying for the period'))!;
    const end = Date.parse(String(stay.runEnd));
    assert.equal(end, Date.parse(String(stay.nextScheduledRun)) - flushMs - 1000, 'the schedule\'s bound');
    const rs = rounds(r);
    assert.ok(rs.length >= 2, `${rs.length} rounds`);
    for (const x of rs) assert.ok(x.start <= end, `round ${x.round} started at ${new Date(x.start).toISOString()}, after the end ${stay.runEnd}`);
    // the round that would have come next falls after the end, or in its last second (MIN_ROUND_MS)
    const last = rs.at(-1)!;
    assert.ok(Math.max(Math.ceil(last.nextTick! / 1000) * 1000, last.start + 1000) > end - MIN_ROUND_MS, 'the run stopped while a round could still start');
    const done = r.logs.find((l) => l.msg === 'run complete')!;
    assert.equal(done.ended, 'deadline');
  });

  it('a round still in flight at the run\'s end is cut there: the objects it did not reach fail with the end as the reason, exit 1', async () => {
    const ns = await h.namespace('e2e-period-cut');
    // a backend of its own that answers nothing until released: the first object's read outlasts the run
    const stuck = await startMetricsServer(3);
    try {
      stuck.hold();
      for (const name of ['a', 'b']) {
        await create(h, ns, deployment(name, 0));
        await create(h, ns, scaledObject(name, { scaleTargetRef: { name }, pollingInterval: 1,
          triggers: [{ type: 'metrics-api', metadata: { url: stuck.url, valueLocation: 'queue.depth', targetValue: '2', timeout: '60000' } }] }));
      }
      const r = await runScalepass(args(ns, 4000, ['--concurrency', '1', '--trigger-timeout-ms', '60000']), env(crypto.randomUUID()));
      assert.equal(r.code, 1, r.stderr.slice(-3000));
      const rs = rounds(r);
      assert.equal(rs.length, 1, 'no round after the end');
      assert.equal(rs[0]!.outcome, 'partial_failure');
      const end = String(r.logs.find((l) => String(l.msg).startsWith('staying for the period'))!.runEnd);
      const notReached = rs[0]!.objects.filter((o) => o.detail === `the run's end at ${end} reached before this object was evaluated`);
      assert.equal(notReached.length, 1, JSON.stringify(rs[0]!.objects));
      assert.equal(notReached[0]!.outcome, 'failed');
      const reached = rs[0]!.objects.find((o) => o !== notReached[0])!;
      assert.match(reached.triggers[0]!.error ?? '', /^cut by the pass's deadline after \d+ ms$/, 'the read in flight was cut at the end, not by its own 60 s timeout');
      assert.equal(stuck.requests, 1, 'the object not reached was never measured');
      for (const name of ['a', 'b']) assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`), 0, 'nothing scaled on a cut read');
    } finally {
      await stuck.close();
    }
  });

  it('flushes every round\'s instruments once at the end of a normal run', async () => {
    const ns = await h.namespace('e2e-period-metrics');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [{ ...trigger(), name: 'queue' }] }));
    const id = crypto.randomUUID();
    const r = await runScalepass(args(ns, 5000), env(id));
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const rs = rounds(r);
    assert.ok(rs.length >= 2);
    const flushed = r.logs.filter((l) => String(l.msg).startsWith('metrics flushed'));
    assert.equal(flushed.length, 1, 'one flush, at the end');
    assert.match(String(flushed[0]!.msg), / 0 lost/);

    const evaluated = rs.reduce((n, x) => n + x.objects.filter((o) => o.outcome === 'evaluated').length, 0);
    const pts = await h.waitForMetrics((ps) => ['scalepass.pass.rounds', 'scalepass.pass.evaluations', 'scalepass.pass.duration', 'keda.scaler.metrics.value'].every((n) => ps.some((p) => p.name === n)), 15_000, mine(id));
    const sum = (name: string, f: (p: MetricPoint) => boolean = () => true) => pts.filter((p) => p.name === name && f(p)).reduce((n, p) => n + p.value, 0);
    assert.equal(sum('scalepass.pass.rounds', (p) => p.attrs.outcome === 'success'), rs.length);
    assert.equal(sum('scalepass.pass.evaluations', (p) => p.attrs.outcome === 'evaluated' && p.attrs.type === 'scaledobject'), evaluated);
    const duration = pts.filter((p) => p.name === 'scalepass.pass.duration');
    assert.deepEqual(duration.map((p) => [p.attrs.outcome, p.count]), [['success', 1]], 'one run, one duration');
    assert.equal(pts.find((p) => p.name === 'keda.scaler.metrics.value' && p.attrs.scaledObject === 'w')!.value, 3);
  });
});
