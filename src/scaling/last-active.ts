// status.lastActiveTime as KEDA's loop leaves it, without a status write per active pass.
//
// KEDA stamps it with the time of every poll that sees the object active (for a ScaledObject: one
// that activated it, or found it above 0 with every trigger read), and its cooldown reads it only
// once the object is inactive: lastActiveTime + cooldownPeriod < now. Between those two moments
// nobody can tell the stamps apart from the last one. So it is written when a stretch of stamping
// polls ends, as the time of the last poll in it: this object's previous evaluation, which the run
// knows from the shard's record of its passes and the object's own ticks (scaling/due.ts). The pass
// that ends the stretch writes the status anyway (its conditions change); while the stretch lasts
// the field keeps the time it began, so a quiet pass writes nothing.

import { formatTime, parseTime } from './time.ts';

export interface LastActiveInput {
  /** status.lastActiveTime as read */
  stored: string | undefined;
  /** the previous evaluation stamped it, as the status it left shows */
  stampedBefore: boolean;
  /** this evaluation stamps it, as KEDA's poll would */
  stampsNow: boolean;
  /** this pass's time, whole seconds */
  now: number;
  /** this object's previous evaluation (ms); undefined when the shard has no record of it */
  previousEvaluation: number | undefined;
}

export function lastActiveTime(i: LastActiveInput): string | undefined {
  if (i.stampsNow) return i.stampedBefore && i.stored !== undefined ? i.stored : formatTime(i.now);
  if (!i.stampedBefore) return i.stored;
  // The stretch ended with the previous evaluation. Unknown (no record of the shard's passes): that
  // evaluation was before this pass, so this pass's second is the latest it can have been stamped —
  // cooldown never ends earlier than KEDA's. Never before the time the stretch began.
  const last = Math.min(i.previousEvaluation ?? i.now, i.now);
  return formatTime(Math.max(last, parseTime(i.stored) ?? -Infinity));
}
