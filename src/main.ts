// The story of one run, on one screen: config -> telemetry -> cluster -> scheduled start -> lease ->
// pass -> output -> flush -> exit code (0 all evaluated, 1 some failed, 2 config/usage error).
import os from 'node:os';
import crypto from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from './config/load.ts';
import { createLogger, type Logger } from './log.ts';
import { createTelemetry, formatFlushResult, shardInstanceId, type Telemetry } from './telemetry/provider.ts';
import { KubeRest, ApiError } from './kube/rest.ts';
import { acquire, LeaseHeld, type ShardLease } from './kube/lease.ts';
import { scheduledStart, type ScheduledStart } from './schedule.ts';
import { runPass } from './pass.ts';
import { table, json } from './output.ts';
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

export async function main(c: Config, processStart: number): Promise<number> {
  const log = createLogger(c.logLevel);
  const telemetry: Telemetry = createTelemetry({
    instanceId: shardInstanceId(c.shardIndex), serviceVersion: pkg.version, gitCommit: GIT_COMMIT,
    emitCurrentKedaNames: c.emitCurrentKedaNames, flushTimeoutMs: c.flushTimeoutMs,
  });
  log.info('starting pass', { version: pkg.version, shard: `${c.shardIndex}/${c.shardCount}`, dryRun: c.dryRun, namespaces: c.namespaces.length ? c.namespaces : 'all', telemetry: telemetry.info });

  let code = 0;
  let rest: KubeRest | undefined;
  let lease: ShardLease | undefined;

  // A CronJob's activeDeadlineSeconds or a node drain sends SIGTERM: give the shard back (the next
  // run must not wait for the lease to expire) and still flush what was measured.
  let stopping = false;
  const onTerm = async () => {
    if (stopping) return;
    stopping = true;
    log.warn('SIGTERM: flushing metrics before exit');
    await Promise.race([lease?.release().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    const r = await telemetry.flush(c.flushTimeoutMs);
    log[r.ok ? 'info' : 'warn'](formatFlushResult(r), { flush: r });
    process.exit(143);
  };
  process.once('SIGTERM', () => void onTerm());
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
      const durationS = Math.ceil((c.passDeadlineMs + c.flushTimeoutMs) / 1000) + 5;
      lease = await acquire(rest, leaseNs, leaseName(c), holder, passStart, durationS);
    }
    const report = await runPass(rest, telemetry.recorder, log, {
      namespaces: c.namespaces, labelSelector: c.labelSelector, concurrency: c.concurrency,
      triggerTimeoutMs: c.triggerTimeoutMs, passDeadlineMs: c.passDeadlineMs, dryRun: c.dryRun,
      shardIndex: c.shardIndex, shardCount: c.shardCount, scheduledStart: sched.time,
      lastPass: lease?.lastPass, instance: process.env.HOSTNAME ?? os.hostname(),
    });
    if (lease) await lease.release(passStart);
    lease = undefined;

    const failed = report.objects.filter((o) => o.outcome === 'failed');
    const skipped = report.objects.filter((o) => o.outcome === 'skipped').length;
    code = failed.length ? 1 : 0;
    process.stdout.write((c.output === 'json'
      ? json(report, { dryRun: c.dryRun, scheduledStart: { ...sched, time: new Date(sched.time).toISOString() } })
      : table(report)) + '\n');
    log.info('pass complete', {
      objects: report.objects.length, evaluated: report.objects.length - skipped - failed.length, skipped, failed: failed.length,
      failedObjects: failed.map((o) => `${o.namespace}/${o.name}: ${o.detail ?? ''}`), durationMs: report.durationMs, requests: report.requests, denied: report.denied,
    });
  } catch (e) {
    code = 1;
    if (e instanceof LeaseHeld) log.error('another run holds this shard; nothing done', { error: e.message });
    else if (e instanceof ApiError && e.status === 403) log.error('permission denied by the API server (check the ServiceAccount\'s RBAC)', { error: e.message });
    else log.error('pass failed', { error: (e as Error).message });
  } finally {
    if (lease && rest) await lease.release().catch(() => undefined);
    rest?.close();
  }

  const r = await telemetry.flush(c.flushTimeoutMs);
  if (r.ok) log.info(formatFlushResult(r), { flush: r });
  else log.warn(formatFlushResult(r), { flush: r });
  return code;
}
