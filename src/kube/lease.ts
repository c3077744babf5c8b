// One coordination.k8s.io Lease per shard: it records when the shard's last passes ran (that is what
// makes pollingInterval hold across runs without a write per object, and what tells a pass when each
// object was evaluated before) and keeps an ad-hoc run from racing the CronJob's run of the same shard.
//
// The lease is short and renewed while the pass runs, as client-go's leader election does: a pass
// that outlives one duration (slow backends, a slow apiserver) keeps the shard, and a run that dies
// without giving it back blocks the next run of its shard for at most one duration. If a renewal is
// refused because another run took the Lease, or none succeeds within the renew deadline, `lost`
// aborts: the pass must stop writing, because another run may already be writing the same objects.
import { ApiError, type KubeRest } from './rest.ts';

export interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export const LAST_PASS = 'scalepass.dev/last-pass-time';
/** the times of the shard's last recorded passes, oldest first, comma-separated RFC 3339 */
export const PASS_HISTORY = 'scalepass.dev/pass-history';
/**
 * How many recent passes the Lease keeps as they were, and how many older ones, one a minute. At one
 * pass a minute (mode once) that places objects polled up to about two hours apart exactly; a run in
 * mode period makes a round up to every second, and its older rounds are thinned to one a minute.
 */
export const PASS_HISTORY_LENGTH = 64;

const micro = (t: number) => new Date(t).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseHeld extends Error {}

/** The reason `lost` carries when another run took the lease or it could not be renewed in time. */
export class LeaseLost extends Error {}

export interface LeaseTiming {
  durationMs: number;
  /** a renewal is due this long after the last successful one */
  renewIntervalMs: number;
  /** without a successful renewal for this long (from when it was sent), the lease counts as lost */
  renewDeadlineMs: number;
  /** wait between failed renewal attempts */
  retryMs: number;
}

/**
 * client-go's defaults are 15 s / 10 s / 2 s (LeaseDuration, RenewDeadline, RetryPeriod); the same
 * proportions for any duration. The gap between the renew deadline and the duration is the margin
 * for the clock skew between this run and the one that may take the lease over.
 */
export function leaseTiming(durationS: number): LeaseTiming {
  const durationMs = durationS * 1000;
  return { durationMs, renewIntervalMs: Math.round(durationMs / 3), renewDeadlineMs: Math.round((durationMs * 2) / 3), retryMs: Math.round(durationMs / 7.5) };
}

export interface ShardLease {
  /** `namespace/name`, for log lines */
  readonly id: string;
  /** start of the shard's last recorded pass, ms; undefined on the first pass */
  lastPass?: number;
  /**
   * The shard's earlier passes that may have evaluated objects (ms, oldest first): the recorded ones,
   * and the previous run's when it took the Lease but could not record its pass (its acquireTime).
   * Each was due for the ticks since the pass before it; see previousEvaluation in scaling/due.ts.
   */
  readonly passes: readonly number[];
  /** leaseDurationSeconds as written */
  readonly durationS: number;
  /** when the last successful renewal was sent (ms): the lease is valid until this + the duration */
  readonly renewedAt: number;
  /**
   * Aborted once this run may no longer write as the shard's holder: with a LeaseLost reason when the
   * lease was taken by another run or not renewed in time, with a plain Error once given back.
   */
  readonly lost: AbortSignal;
  /**
   * Record passStart as the shard's last pass now, keeping the lease (the write renews it too). A run
   * that stays for its period records each round before evaluating it, so a crash mid-round leaves a
   * history that is never earlier than any evaluation it made. Throws LeaseLost once the lease is lost.
   */
  record(passStart: number): Promise<void>;
  /**
   * Stop renewing and give the lease back; with passStart, record it as the shard's last completed
   * pass. Does nothing when the lease was lost (it is someone else's now).
   */
  release(passStart?: number): Promise<void>;
}

export interface LeaseHooks {
  /** a renewal attempt failed but the renew deadline has not passed: it is retried */
  onRenewError?(e: Error): void;
}

/** Take the shard's lease and keep it renewed until release. Throws LeaseHeld when another live run holds it. */
export async function acquire(rest: KubeRest, namespace: string, name: string, holder: string, now: number, durationS: number, hooks: LeaseHooks = {}): Promise<ShardLease> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const id = `${namespace}/${name}`;
  let lease: Lease | undefined;
  try {
    lease = await rest.get<Lease>(`${path}/${name}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const spec = { holderIdentity: holder, leaseDurationSeconds: durationS, acquireTime: micro(now), renewTime: micro(now) };
  let current: Lease;
  if (!lease) {
    current = await rest.create<Lease>(path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
  } else {
    const held = lease.spec.holderIdentity && lease.spec.holderIdentity !== holder;
    const expires = Date.parse(lease.spec.renewTime ?? '') + (lease.spec.leaseDurationSeconds ?? 0) * 1000;
    if (held && expires > now) {
      throw new LeaseHeld(`shard lease ${id} is held by ${lease.spec.holderIdentity} until ${new Date(expires).toISOString()}`);
    }
    // a 409 here means another run took it between our read and write: the same answer as "held"
    try {
      current = await rest.put<Lease>(`${path}/${name}`, { ...lease, spec: { ...lease.spec, ...spec } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) throw new LeaseHeld(`shard lease ${id} was taken by another run`);
      throw e;
    }
  }
  const last = Date.parse(lease?.metadata.annotations?.[LAST_PASS] ?? '');
  // the passes on record, this run's recorded rounds included
  let recorded = recordedPasses(lease?.metadata.annotations);
  // a run that took the Lease and then could not record its pass (it died, the release failed) still
  // evaluated objects: due-ness ignores it (they come due again), but when they were last seen must not
  const unrecorded = Date.parse(lease?.spec.acquireTime ?? '');
  const passes = Number.isFinite(unrecorded) && unrecorded > (recorded.at(-1) ?? -Infinity) ? [...recorded, unrecorded] : recorded;
  const timing = leaseTiming(durationS);
  const lostCtl = new AbortController();
  let renewedAt = now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  // a renewal and the release never overlap: the release must send the resourceVersion the renewal got back
  let inFlight: Promise<void> = Promise.resolve();

  const stop = (reason: Error) => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(deadlineTimer);
    if (!lostCtl.signal.aborted) lostCtl.abort(reason);
  };
  const armDeadline = () => {
    clearTimeout(deadlineTimer);
    const left = renewedAt + timing.renewDeadlineMs - Date.now();
    deadlineTimer = setTimeout(() => stop(new LeaseLost(`shard lease ${id} was not renewed within ${timing.renewDeadlineMs} ms; it may have been taken by another run`)), Math.max(0, left));
    deadlineTimer.unref();
  };

  /** A PUT with the resourceVersion last read; on 409 re-read and retry once if it is still ours. */
  const putOurs = async (build: (l: Lease) => Lease, signal?: AbortSignal): Promise<Lease> => {
    try {
      return await rest.put<Lease>(`${path}/${name}`, build(current), { signal });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new LeaseLost(`shard lease ${id} was deleted`);
      if (!(e instanceof ApiError && e.status === 409)) throw e;
    }
    const fresh = await rest.get<Lease>(`${path}/${name}`, { signal });
    if (fresh.spec.holderIdentity !== holder) throw new LeaseLost(`shard lease ${id} was taken by ${fresh.spec.holderIdentity || 'nobody (given back by another run)'}`);
    current = fresh;
    return rest.put<Lease>(`${path}/${name}`, build(current), { signal });
  };

  const renew = async () => {
    const sentAt = Date.now();
    // a renewal still unanswered at the deadline is of no use: the lease counts as lost by then
    try {
      const signal = AbortSignal.timeout(Math.max(1, Math.round(renewedAt + timing.renewDeadlineMs - sentAt)));
      current = await putOurs((l) => ({ ...l, spec: { ...l.spec, holderIdentity: holder, leaseDurationSeconds: durationS, renewTime: micro(sentAt) } }), signal);
      renewedAt = sentAt;
      if (!stopped) armDeadline();
      schedule(timing.renewIntervalMs);
    } catch (e) {
      // taken by another run: lost even when a release is waiting for this renewal
      if (e instanceof LeaseLost) return stop(e);
      if (stopped) return;
      hooks.onRenewError?.(e as Error);
      schedule(timing.retryMs);
    }
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => { inFlight = renew(); }, ms);
    // renewal must never keep the process alive: the run ends when its pass does
    timer.unref();
  };
  armDeadline();
  schedule(timing.renewIntervalMs);

  return {
    id, durationS,
    lastPass: Number.isFinite(last) ? last : undefined,
    passes,
    get renewedAt() { return renewedAt; },
    lost: lostCtl.signal,
    record(passStart: number) {
      const done = (async () => {
        // never beside a renewal: both PUT with the resourceVersion the other got back
        await inFlight;
        clearTimeout(timer);
        if (lostCtl.signal.aborted) throw lostCtl.signal.reason;
        const sentAt = Date.now();
        try {
          const signal = AbortSignal.timeout(Math.max(1, Math.round(renewedAt + timing.renewDeadlineMs - sentAt)));
          current = await putOurs((l) => ({
            ...l,
            metadata: { ...l.metadata, annotations: withPass(l.metadata.annotations, recorded, passStart) },
            spec: { ...l.spec, holderIdentity: holder, leaseDurationSeconds: durationS, renewTime: micro(sentAt) },
          }), signal);
          recorded = history(recorded, passStart);
          renewedAt = sentAt;
          if (!stopped) armDeadline();
          schedule(timing.renewIntervalMs);
        } catch (e) {
          if (e instanceof LeaseLost) stop(e);
          else schedule(timing.retryMs);
          throw e;
        }
      })();
      inFlight = done.catch(() => undefined);
      return done;
    },
    async release(passStart?: number) {
      if (lostCtl.signal.aborted) return;
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      if (lostCtl.signal.aborted) return;
      // from here on this run writes nothing as the shard's holder (a SIGTERM releases mid-pass)
      stop(new Error(`shard lease ${id} given back`));
      await putOurs((l) => ({
        ...l,
        metadata: { ...l.metadata, annotations: passStart === undefined ? l.metadata.annotations : withPass(l.metadata.annotations, recorded, passStart) },
        spec: { ...l.spec, holderIdentity: undefined, leaseDurationSeconds: durationS, renewTime: micro(Date.now()) },
      }));
    },
  };
}

/** The recorded passes, oldest first: the history, and the last pass of a Lease written before there was one. */
function recordedPasses(annotations: Record<string, string> | undefined): number[] {
  const times = (annotations?.[PASS_HISTORY] ?? '').split(',').map((t) => Date.parse(t.trim()));
  times.push(Date.parse(annotations?.[LAST_PASS] ?? ''));
  return [...new Set(times.filter((t) => Number.isFinite(t)))].sort((a, b) => a - b);
}

/**
 * This pass as the shard's last, appended to the passes recorded before it (not the unrecorded one:
 * this pass was due for the ticks since the last recorded pass, and the history says so by order).
 */
function withPass(annotations: Record<string, string> | undefined, recorded: readonly number[], passStart: number): Record<string, string> {
  return { ...annotations, [LAST_PASS]: new Date(passStart).toISOString(), [PASS_HISTORY]: history(recorded, passStart).map((t) => new Date(t).toISOString()).join(',') };
}

/**
 * The history with passStart appended, oldest first: the latest PASS_HISTORY_LENGTH passes, and before
 * them up to as many older ones, the last of each minute. A dropped pass's due window joins the next
 * kept one's, so an evaluation it made is read as made at that later pass: never earlier than it was
 * (see previousEvaluation in scaling/due.ts), at most a minute later.
 */
export function history(recorded: readonly number[], passStart: number): number[] {
  const all = [...recorded.filter((t) => t < passStart), passStart];
  const recent = all.slice(-PASS_HISTORY_LENGTH);
  const older = all.slice(0, -PASS_HISTORY_LENGTH);
  const minute = (t: number) => Math.floor(t / 60_000);
  const thinned = older.filter((t, i) => i === older.length - 1 || minute(older[i + 1]!) !== minute(t));
  return [...thinned.slice(-PASS_HISTORY_LENGTH), ...recent];
}
