// The story of one run, on one screen: config -> telemetry -> cluster -> scheduled start -> lease ->
// pass (mode once) or rounds until shortly before the next scheduled run (mode period, src/period.ts)
// -> output -> flush -> exit code (0 all evaluated, 1 some failed, 2 config/usage error).
import os from 'node:os';
import crypto from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from './config/load.ts';
import { createLogger, type Logger } from './log.ts';
import { createTelemetry, formatFlushResult, shardInstanceId, type Telemetry } from './telemetry/provider.ts';
import type { PassOutcome } from './telemetry/recorder.ts';
import { KubeRest, ApiError } from './kube/rest.ts';
import { acquire, LeaseHeld, LeaseLost, type ShardLease } from './kube/lease.ts';
import { nextTick, scheduledStart, type ScheduledStart } from './schedule.ts';
import { passOutcome, runPass, type PassOptions } from './pass.ts';
import { runEnd, runOutcome, runPeriod, type Round } from './period.ts';
import { table, json, jsonLine, roundTable } from './output.ts';
import pkg from '../package.json' with { type: 'json' };

declare const SCALEPASS_GIT_COMMIT: string | undefined;
const GIT_COMMIT = typeof SCALEPASS_GIT_COMMIT === 'string' ? SCALEPASS_GIT_COMMIT : 'dev';

/** The lease name depends on the scope, so differently scoped runs keep their own last-pass times. */
export function leaseName(c: Config): string {
  const scoped = c.namespaces.length > 0 || !!c.labelSelector;
  const scope = scoped ? '-' + crypto.createHash('sha256').update(JSON.stringify([c.namespaces.slice().sort(), c.labelSelector ?? ''])).digest('hex').slice(0, 8) : '';
  return `scalepass${scope}-shard-${c.shardIndex}`;
}

async function findScheduledStart(rest: KubeRest, c: Config, processStart: number, log: Logger): Promise<ScheduledStart> {
  let job: { name: string; annotations: Record<string, string> | undefined } | undefined;
  if (c.jobName && c.jobNamespace) {
    try {
      const j = await rest.get<{ metadata: { annotations?: Record<string, string> } }>(`/apis/batch/v1/namespaces/${c.jobNamespace}/jobs/${c.jobName}`);
      job = { name: c.jobName, annotations: j.metadata.annotations };
    } catch (e) {
      log.warn('could not read this run\'s Job; falling back to the schedule', { job: `${c.jobNamespace}/${c.jobName}`, error: (e as Error).message });
    }
  }
  return scheduledStart({ job, schedule: c.schedule, processStart });
}

/**
 * Give the lease back and record this pass as the shard's last (mode period: its rounds are recorded
 * already, as each started). Failing that, the pass still counts: its writes are done, and the report
 * and exit code are about the objects.
 */
async function giveBack(lease: ShardLease, passStart: number | undefined, log: Logger): Promise<void> {
  try {
    await lease.release(passStart);
  } catch (e) {
    if (passStart === undefined) {
      log.warn(`could not give the shard lease back: it expires by its duration (${lease.durationS} s after its last renewal) and until then another run of this shard is refused; the rounds were recorded as they started`, {
        lease: lease.id, expires: new Date(lease.renewedAt + lease.durationS * 1000).toISOString(), error: (e as Error).message,
      });
      return;
    }
    // due-ness only widens with an older last-pass time: objects are evaluated early, never skipped
    const next = lease.lastPass === undefined
      ? 'the next pass evaluates every object again, as on the shard\'s first pass'
      : `the next pass re-evaluates early the objects whose pollingInterval tick fell since the previous pass (${new Date(lease.lastPass).toISOString()})`;
    log.warn(`could not give the shard lease back: it expires by its duration (${lease.durationS} s after its last renewal) and until then another run of this shard is refused; the last-pass time was not recorded, so ${next}`, {
      lease: lease.id, expires: new Date(lease.renewedAt + lease.durationS * 1000).toISOString(), error: (e as Error).message,
    });
  }
}

/** A round's report as soon as it ends: a JSON line, or a section of the table, and a log line. */
function printRound(c: Config, r: Round, sched: ScheduledStart, log: Logger): void {
  const scheduledStart = r.index === 1 ? { ...sched, time: new Date(sched.time).toISOString() } : { time: new Date(r.scheduledStart).toISOString(), source: 'round' };
  process.stdout.write((c.output === 'json'
    ? jsonLine(r.report, { mode: 'period', round: r.index, outcome: r.outcome, dryRun: c.dryRun, scheduledStart })
    : roundTable(r.index, r.report, c.dryRun) + '\n') + '\n');
  const failed = r.report.objects.filter((o) => o.outcome === 'failed');
  log.info('round complete', {
    round: r.index, start: new Date(r.report.start).toISOString(), outcome: r.outcome,
    evaluated: r.report.objects.filter((o) => o.outcome === 'evaluated').length, skipped: r.report.objects.filter((o) => o.outcome === 'skipped').length, failed: failed.length,
    failedObjects: failed.length ? failed.map((o) => `${o.kind} ${o.namespace}/${o.name}: ${o.detail ?? ''}`) : undefined, durationMs: r.report.durationMs, requests: r.report.requests,
  });
}

export async function main(c: Config, processStart: number): Promise<number> {
  const log = createLogger(c.logLevel);
  const telemetry: Telemetry = createTelemetry({
    instanceId: shardInstanceId(c.shardIndex), serviceVersion: pkg.version, gitCommit: GIT_COMMIT,
    emitCurrentKedaNames: c.emitCurrentKedaNames, flushTimeoutMs: c.flushTimeoutMs,
  });
  log.info('starting pass', { version: pkg.version, mode: c.mode, shard: `${c.shardIndex}/${c.shardCount}`, dryRun: c.dryRun, namespaces: c.namespaces.length ? c.namespaces : 'all', telemetry: telemetry.info });

  let code = 0;
  let outcome: PassOutcome = 'failed';
  // scalepass.pass.duration, once per run: from process start to the end of the pass, before the flush
  let passRecorded = false;
  const recordPass = (o: PassOutcome): void => {
    if (passRecorded) return;
    passRecorded = true;
    telemetry.recorder.recordPass(o, (Date.now() - processStart) / 1000);
  };
  let rest: KubeRest | undefined;
  let leaseRest: KubeRest | undefined;
  let lease: ShardLease | undefined;

  // A CronJob's activeDeadlineSeconds or a node drain sends SIGTERM: give the shard back (the next
  // run must not wait for the lease to expire) and still flush what was measured.
  let stopping = false;
  let terminating: Promise<never> | undefined;
  const stop = new AbortController();
  const onTerm = async (): Promise<never> => {
    stopping = true;
    // mode period: no round starts, the one in flight starts no more objects; its time is recorded already
    stop.abort();
    log.warn('SIGTERM: flushing metrics before exit');
    recordPass('terminated');
    await Promise.race([lease?.release().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    const r = await telemetry.flush(c.flushTimeoutMs);
    log[r.ok ? 'info' : 'warn'](formatFlushResult(r), { flush: r });
    process.exit(143);
  };
  process.once('SIGTERM', () => { terminating = onTerm(); });
  try {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    rest = await KubeRest.fromKubeConfig(kc, Math.max(4, c.concurrency));
    const sched = await findScheduledStart(rest, c, processStart, log);
    log.info('scheduled start', { source: sched.source, scheduledStart: new Date(sched.time).toISOString(), detail: sched.detail });

    const passStart = Date.now();
    const leaseNs = c.leaseNamespace ?? c.jobNamespace ?? 'scalepass-system';
    if (!c.dryRun) {
      const holder = process.env.HOSTNAME ? `${process.env.HOSTNAME}` : `${os.hostname()}-${process.pid}`;
      const id = `${leaseNs}/${leaseName(c)}`;
      // its own connection: a renewal must not queue behind the pass's requests for a socket, nor
      // count among the pass's requests
      leaseRest = await KubeRest.fromKubeConfig(kc, 2);
      const held = await acquire(leaseRest, leaseNs, leaseName(c), holder, passStart, c.leaseDurationSeconds, {
        onRenewError: (e) => log.warn('could not renew the shard lease; retrying until the renew deadline', { lease: id, error: e.message }),
      });
      lease = held;
      held.lost.addEventListener('abort', () => {
        if (held.lost.reason instanceof LeaseLost) log.error('shard lease lost: stopping writes, another run may be handling this shard', { lease: held.id, error: held.lost.reason.message });
      }, { once: true });
    }
    const passOptions: Omit<PassOptions, 'start' | 'lastPass' | 'passes' | 'scheduledStart' | 'passDeadlineMs'> = {
      namespaces: c.namespaces, labelSelector: c.labelSelector, concurrency: c.concurrency,
      triggerTimeoutMs: c.triggerTimeoutMs,
      readinessTiming: { cpuInitializationPeriodMs: c.cpuInitializationPeriodSeconds * 1000, delayOfInitialReadinessStatusMs: c.initialReadinessDelaySeconds * 1000 },
      dryRun: c.dryRun, shardIndex: c.shardIndex, shardCount: c.shardCount,
      instance: process.env.HOSTNAME ?? os.hostname(), leaseLost: lease?.lost,
    };
    if (c.mode === 'period') {
      const next = nextTick(c.schedule, sched.time);
      const end = runEnd(processStart, c.passDeadlineMs, 'time' in next ? next.time : undefined, c.flushTimeoutMs);
      log.info('staying for the period: a round at each pollingInterval tick', {
        runEnd: new Date(end).toISOString(), nextScheduledRun: 'time' in next ? new Date(next.time).toISOString() : next.problem,
      });
      const result = await runPeriod(rest, telemetry.recorder, log, {
        // evaluations are pollingInterval apart, not at every 15 s HPA sync: each applies the syncs since the previous one
        pass: { ...passOptions, hpaCatchUp: true }, firstStart: passStart, scheduledStart: sched.time, end, lease, stop: stop.signal,
        onRound: (r) => printRound(c, r, sched, log),
      });
      const lost = lease?.lost.reason instanceof LeaseLost;
      if (lease && !lost && !stopping) await giveBack(lease, undefined, log);
      lease = undefined;
      outcome = runOutcome(result.rounds.map((r) => r.outcome));
      code = outcome === 'success' ? 0 : 1;
      log.info('run complete', {
        rounds: result.rounds.length, ended: result.ended, failedRounds: result.rounds.filter((r) => r.outcome !== 'success').map((r) => r.index),
        // the Lease's own requests: its read and take-over, a write per round (each also a renewal), the give-back
        leaseRequests: leaseRest?.counts,
      });
    } else {
      const report = await runPass(rest, telemetry.recorder, log, {
        ...passOptions, passDeadlineMs: c.passDeadlineMs, scheduledStart: sched.time, start: passStart, lastPass: lease?.lastPass, passes: lease?.passes,
      });
      const lost = lease?.lost.reason instanceof LeaseLost ? lease.lost.reason : undefined;
      if (lease && !lost) await giveBack(lease, passStart, log);
      lease = undefined;

      const failed = report.objects.filter((o) => o.outcome === 'failed');
      const skipped = report.objects.filter((o) => o.outcome === 'skipped').length;
      outcome = passOutcome({ failedObjects: failed.length, listErrors: report.listErrors.length, leaseLost: !!lost });
      code = outcome === 'success' ? 0 : 1;
      telemetry.recorder.recordRound(outcome);
      process.stdout.write((c.output === 'json'
        ? json(report, { dryRun: c.dryRun, scheduledStart: { ...sched, time: new Date(sched.time).toISOString() } })
        : table(report, c.dryRun)) + '\n');
      log.info('pass complete', {
        objects: report.objects.length, evaluated: report.objects.length - skipped - failed.length, skipped, failed: failed.length,
        failedObjects: failed.map((o) => `${o.kind} ${o.namespace}/${o.name}: ${o.detail ?? ''}`), listErrors: report.listErrors.length ? report.listErrors : undefined, durationMs: report.durationMs, requests: report.requests, denied: report.denied,
      });
      if (lost) log.error('the shard lease was lost during the pass: no write was started after the loss, and the last-pass time was not recorded', { error: lost.message });
    }
  } catch (e) {
    code = 1;
    outcome = e instanceof LeaseHeld ? 'lease_held' : 'failed';
    if (e instanceof LeaseHeld) log.error('another run holds this shard; nothing done', { error: e.message });
    else if (e instanceof ApiError && e.status === 403) log.error('permission denied by the API server (check the ServiceAccount\'s RBAC)', { error: e.message });
    else log.error('pass failed', { error: (e as Error).message });
  } finally {
    // the SIGTERM handler gives the lease back, flushes and exits 143: its connections stay open for it, and no second flush runs beside it
    if (terminating) await terminating;
    if (lease) await lease.release().catch(() => undefined);
    rest?.close();
    leaseRest?.close();
  }

  recordPass(outcome);
  const r = await telemetry.flush(c.flushTimeoutMs);
  if (r.ok) log.info(formatFlushResult(r), { flush: r });
  else log.warn(formatFlushResult(r), { flush: r });
  return code;
}
