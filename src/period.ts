// A run that stays for its schedule period (mode period): rounds of runPass, each at the time some
// object's own pollingInterval tick came, until shortly before the next scheduled run. Each round is
// an ordinary pass (due-ness against the round before it, LIST of the objects in scope, decisions as
// of the round's time), so new, changed and deleted objects are picked up at the next round, and the
// two modes share one pipeline. Each round's time is written to the shard's Lease before the round
// evaluates anything: a run that dies mid-round leaves a history that is never earlier than any of
// its evaluations (an object it did not reach comes due at its next tick, one interval late).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeRest } from './kube/rest.ts';
import { LeaseLost, type ShardLease } from './kube/lease.ts';
import { passOutcome, runPass, type PassOptions, type PassReport } from './pass.ts';
import type { PassOutcome, Recorder } from './telemetry/recorder.ts';
import type { Logger } from './log.ts';

/** KEDA's default pollingInterval: with objects polled less often (or none), a new object waits at most this long */
export const MAX_SLEEP_MS = 30_000;
/** the CronJob's next Job must find this one finished: the flush, then this margin, before the next tick */
export const EXIT_MARGIN_MS = 1000;
/**
 * A round starts only with this long left before the end: a shorter one could not measure anything,
 * and a timer that fires a millisecond early at the end (Node's timers do) must not start one.
 */
export const MIN_ROUND_MS = 1000;

/**
 * When the run ends: no round starts later, and a round in flight stops starting objects then. The
 * deadline from process start, or the next tick of the schedule less the flush and a margin, whichever
 * comes first (with concurrencyPolicy Forbid a run still alive at the next tick makes the CronJob skip it).
 */
export function runEnd(processStart: number, passDeadlineMs: number, nextScheduledTick: number | undefined, flushTimeoutMs: number): number {
  const byDeadline = processStart + passDeadlineMs;
  return nextScheduledTick === undefined ? byDeadline : Math.min(byDeadline, nextScheduledTick - flushTimeoutMs - EXIT_MARGIN_MS);
}

/**
 * When the next round starts, or undefined when it would start after runEnd. At the earliest next
 * tick of any object in scope, rounded up to a whole second (ticks that close together share a round),
 * never sooner than a second after this round, never later than MAX_SLEEP_MS after it.
 */
export function nextRoundAt(roundStart: number, nextTick: number | undefined, end: number): number | undefined {
  const wake = Math.ceil(Math.min(nextTick ?? Infinity, roundStart + MAX_SLEEP_MS) / 1000) * 1000;
  const at = Math.max(wake, roundStart + 1000);
  return at > end - MIN_ROUND_MS ? undefined : at;
}

/** How a round ended: as a pass in mode once would. */
export function roundOutcome(r: PassReport, leaseLost: boolean): PassOutcome {
  return passOutcome({ failedObjects: r.objects.filter((o) => o.outcome === 'failed').length, listErrors: r.listErrors.length, leaseLost });
}

/**
 * The run's outcome over its rounds: the worst of them. No round at all (the run started after its
 * end, as a pod that waited most of the period to start does) is no failure: the next run comes soon,
 * and judges due-ness from the last recorded pass.
 */
export function runOutcome(rounds: readonly PassOutcome[]): PassOutcome {
  for (const o of ['lease_lost', 'partial_failure'] as const) if (rounds.includes(o)) return o;
  return 'success';
}

export interface Round {
  /** 1 for the first round of the run */
  index: number;
  report: PassReport;
  outcome: PassOutcome;
  /** when the round was planned to start (ms): the first one at the run's scheduled start */
  scheduledStart: number;
}

export interface PeriodOptions {
  /** everything runPass needs that is the same for every round */
  pass: Omit<PassOptions, 'start' | 'lastPass' | 'passes' | 'scheduledStart' | 'passDeadlineMs' | 'stop' | 'deadlineName'>;
  /** the first round's time (ms): when the Lease was taken */
  firstStart: number;
  /** the run's scheduled start (ms) */
  scheduledStart: number;
  end: number;
  /** the shard's Lease; undefined in a dry run (nothing recorded; rounds after the first judge due-ness against the one before) */
  lease?: ShardLease;
  /** aborted on SIGTERM: no round starts, the one in flight starts no more objects */
  stop: AbortSignal;
  /** each round's report, as soon as the round ends */
  onRound(r: Round): void;
  now?: () => number;
}

export interface PeriodResult {
  rounds: Round[];
  /** why the run made no more rounds */
  ended: 'deadline' | 'stopped' | 'lease-lost' | 'lease-not-recorded';
}

export async function runPeriod(rest: KubeRest, rec: Recorder, log: Logger, o: PeriodOptions): Promise<PeriodResult> {
  const now = o.now ?? Date.now;
  const rounds: Round[] = [];
  // the shard's passes as the next round must see them: the Lease's, then this run's rounds
  const passes = [...(o.lease?.passes ?? [])];
  let lastPass = o.lease?.lastPass;
  let start = o.firstStart;
  let scheduledStart = o.scheduledStart;
  for (let index = 1; ; index++) {
    if (o.stop.aborted) return { rounds, ended: 'stopped' };
    if (Math.max(start, now()) > o.end - MIN_ROUND_MS) {
      if (index === 1) log.warn('the run started after its end (shortly before the next scheduled run): no round', { runEnd: new Date(o.end).toISOString() });
      return { rounds, ended: 'deadline' };
    }
    let recorded = true;
    if (o.lease) {
      try {
        await o.lease.record(start);
      } catch (e) {
        if (e instanceof LeaseLost) {
          log.error('shard lease lost: no further round', { lease: o.lease.id, error: e.message });
          return { rounds, ended: 'lease-lost' };
        }
        // the first round is covered by the Lease's acquireTime (see acquire); a later one would not be
        if (index > 1) {
          log.error('could not record the round in the shard lease: no further round (its evaluations would be unknown to the next run)', { lease: o.lease.id, error: (e as Error).message });
          return { rounds, ended: 'lease-not-recorded' };
        }
        recorded = false;
        log.warn('could not record the first round in the shard lease: this round runs (the lease\'s acquire time stands for it), no later one', { lease: o.lease.id, error: (e as Error).message });
      }
    }
    const report = await runPass(rest, rec, log, {
      ...o.pass, start, lastPass, passes, scheduledStart, passDeadlineMs: Math.max(1, o.end - now()), stop: o.stop,
      deadlineName: `the run's end at ${new Date(o.end).toISOString()}`,
    });
    const lost = o.lease?.lost.reason instanceof LeaseLost;
    const round: Round = { index, report, outcome: roundOutcome(report, lost), scheduledStart };
    rounds.push(round);
    rec.recordRound(round.outcome);
    o.onRound(round);
    if (lost) return { rounds, ended: 'lease-lost' };
    if (!recorded) return { rounds, ended: 'lease-not-recorded' };
    passes.push(start);
    lastPass = start;

    const next = nextRoundAt(start, report.nextTick, o.end);
    if (next === undefined) return { rounds, ended: 'deadline' };
    const wait = next - now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal: o.stop });
      } catch {
        return { rounds, ended: 'stopped' };
      }
    }
    scheduledStart = next;
    start = Math.max(now(), next);
  }
}
