// pollingInterval across runs, without a write per object: an object is due in this pass when a tick
// of its own schedule — multiples of pollingInterval, phase-shifted by a hash of its UID so a fleet
// spreads out — falls in (last pass start, this pass start]. A shard's first pass evaluates everything.

import crypto from 'node:crypto';

export function uidHash(uid: string): number {
  return crypto.createHash('sha256').update(uid).digest().readUInt32BE(0);
}

export interface Due {
  due: boolean;
  reason: string;
  /** the tick that made it due, or the next one (ms) */
  tick: number;
}

/** the object's latest tick at or before `at` (ms): k * period + phase */
function latestTick(uid: string, pollingIntervalS: number, at: number): { tick: number; period: number } {
  const period = Math.max(1, pollingIntervalS) * 1000;
  const phase = uidHash(uid) % period;
  return { tick: Math.floor((at - phase) / period) * period + phase, period };
}

export function isDue(uid: string, pollingIntervalS: number, lastPass: number | undefined, now: number): Due {
  const { tick, period } = latestTick(uid, pollingIntervalS, now);
  if (lastPass === undefined) return { due: true, reason: 'first pass of this shard', tick };
  if (tick > lastPass) return { due: true, reason: `pollingInterval ${pollingIntervalS}s tick at ${new Date(tick).toISOString()}`, tick };
  return { due: false, reason: `not due: next pollingInterval tick at ${new Date(tick + period).toISOString()}`, tick: tick + period };
}

/** The object's first tick after `at` (ms): when a run that stays for its period must wake for it. */
export function nextTick(uid: string, pollingIntervalS: number, at: number): number {
  const { tick, period } = latestTick(uid, pollingIntervalS, at);
  return tick + period;
}

/**
 * When the object was evaluated last before `now`: the latest of the shard's passes whose due window
 * held one of its ticks. `passes` are the times of the shard's earlier passes (ms, any order); each was
 * due for the ticks after the pass before it, up to its own time. The oldest one's window is unknown:
 * when no later window holds a tick, the object was evaluated at the oldest pass or before, and the
 * oldest is returned. So the answer is never earlier than the real evaluation (a cooldown counted from
 * it never ends early); undefined when the shard has no earlier pass on record.
 */
export function previousEvaluation(uid: string, pollingIntervalS: number, passes: readonly number[], now: number): number | undefined {
  const earlier = [...new Set(passes)].filter((p) => p < now).sort((a, b) => a - b);
  for (let i = earlier.length - 1; i >= 1; i--) {
    if (latestTick(uid, pollingIntervalS, earlier[i]!).tick > earlier[i - 1]!) return earlier[i];
  }
  return earlier[0];
}

/** Shard i of n owns the objects whose UID hashes to i. */
export function ownedBy(uid: string, shardIndex: number, shardCount: number): boolean {
  return shardCount <= 1 || uidHash(uid) % shardCount === shardIndex;
}
