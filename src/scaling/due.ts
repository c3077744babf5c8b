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

export function isDue(uid: string, pollingIntervalS: number, lastPass: number | undefined, now: number): Due {
  const period = Math.max(1, pollingIntervalS) * 1000;
  const phase = uidHash(uid) % period;
  // latest tick t = k*period + phase with t <= now
  const tick = Math.floor((now - phase) / period) * period + phase;
  if (lastPass === undefined) return { due: true, reason: 'first pass of this shard', tick };
  if (tick > lastPass) return { due: true, reason: `pollingInterval ${pollingIntervalS}s tick at ${new Date(tick).toISOString()}`, tick };
  return { due: false, reason: `not due: next pollingInterval tick at ${new Date(tick + period).toISOString()}`, tick: tick + period };
}

/** Shard i of n owns the objects whose UID hashes to i. */
export function ownedBy(uid: string, shardIndex: number, shardCount: number): boolean {
  return shardCount <= 1 || uidHash(uid) % shardCount === shardIndex;
}
