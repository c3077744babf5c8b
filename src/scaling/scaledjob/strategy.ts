// How many Jobs to create this pass, as KEDA v2.20 pkg/scaling/executor/scale_jobs.go decides
// (getScalingDecision, the four ScalingStrategy types, createJobs). With r = running - min,
// p = pending, room = KEDA's MaxReplicaCount() (max - min) and maxScale/scaleTo from the triggers:
//   running < min:  create min - running
//   default:        effective = maxScale - r
//   custom:         effective = min(maxScale - deduction - trunc(r * percentage), room)
//   accurate:       effective = room - r   if maxScale + r - p > room
//                               maxScale - p otherwise   (pending Jobs already cover part of the queue)
//   eager:          effective = min(room - r - p, maxScale), and scaleTo becomes room
// then effective is raised to 0, and an active object creates min(scaleTo, effective) Jobs.

import { formatNumber } from '../time.ts';
import type { ScalingStrategySpec } from './types.ts';

export type ResolvedStrategy =
  | { kind: 'default'; note?: string }
  | { kind: 'custom'; deduction: number; percentage: number }
  | { kind: 'accurate' }
  | { kind: 'eager' };

// Go's strconv.ParseFloat for the decimal forms people write; "inf"/"nan" and hex floats are
// refused too, since KEDA would truncate a non-finite product into an undefined integer
const GO_DECIMAL_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** KEDA's NewScalingStrategy: custom without a parsable percentage silently becomes default */
export function resolveStrategy(s: ScalingStrategySpec | undefined): ResolvedStrategy {
  switch (s?.strategy) {
    case 'custom': {
      const text = s.customScalingRunningJobPercentage ?? '';
      const percentage = GO_DECIMAL_FLOAT.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(percentage)) {
        return { kind: 'default', note: `custom strategy needs customScalingRunningJobPercentage as a number, got "${text}": using default` };
      }
      return { kind: 'custom', deduction: s.customScalingQueueLengthDeduction ?? 0, percentage };
    }
    case 'accurate':
      return { kind: 'accurate' };
    case 'eager':
      return { kind: 'eager' };
    default:
      return { kind: 'default' };
  }
}

export interface JobCountInput {
  strategy: ResolvedStrategy;
  /** KEDA's MinReplicaCount() */
  minReplicaCount: number;
  /** KEDA's MaxReplicaCount(): the room above the minimum */
  room: number;
  /** unfinished Jobs */
  running: number;
  /** unfinished Jobs none of whose pods has started (see jobs.ts) */
  pending: number;
  /** ceil(queueLength) */
  scaleTo: number;
  /** ceil(min(maxValue, room)) */
  maxScale: number;
  active: boolean;
}

export interface JobCount {
  jobsToCreate: number;
  /** effective maximum after the strategy, raised to 0 */
  effectiveMaxScale: number;
  /** the strategy's scaleTo (eager replaces it by the room) */
  scaleTo: number;
  why: string;
}

export function jobCount(i: JobCountInput): JobCount {
  const n = formatNumber;
  let effective: number;
  let scaleTo = i.scaleTo;
  let why: string;
  if (i.running < i.minReplicaCount) {
    effective = scaleTo = i.minReplicaCount - i.running;
    why = `${i.running} running < minReplicaCount ${i.minReplicaCount}: ${effective} to reach it`;
  } else {
    const r = i.running - i.minReplicaCount;
    const p = i.pending;
    const s = i.strategy;
    switch (s.kind) {
      case 'default':
        effective = i.maxScale - r;
        why = `${s.note ? `${s.note}; ` : ''}default: maxScale ${i.maxScale} - running ${r} = ${effective}`;
        break;
      case 'custom': {
        const fromRunning = Math.trunc(r * s.percentage);
        const raw = i.maxScale - s.deduction - fromRunning;
        effective = Math.min(raw, i.room);
        why = `custom: maxScale ${i.maxScale} - deduction ${s.deduction} - trunc(running ${r} x ${n(s.percentage)}) = ${raw}`;
        if (raw > i.room) why += `, capped at ${i.room}`;
        break;
      }
      case 'accurate':
        if (i.maxScale + r - p > i.room) {
          effective = i.room - r;
          why = `accurate: maxScale ${i.maxScale} + running ${r} - pending ${p} > ${i.room}, so ${i.room} - running ${r} = ${effective}`;
        } else {
          effective = i.maxScale - p;
          why = `accurate: maxScale ${i.maxScale} - pending ${p} = ${effective}`;
        }
        break;
      case 'eager':
        effective = Math.min(i.room - r - p, i.maxScale);
        scaleTo = i.room;
        why = `eager: min(${i.room} - running ${r} - pending ${p}, maxScale ${i.maxScale}) = ${effective}`;
        break;
    }
  }
  effective = Math.max(effective, 0);
  let jobsToCreate = 0;
  if (!i.active) why += '; not active: no Jobs';
  else if (effective <= 0) why += '; all requested Jobs exist';
  else {
    // a negative queue would make KEDA allocate a negative number of Jobs (a panic): none here
    jobsToCreate = Math.max(0, Math.min(scaleTo, effective));
    why += `; creating min(scaleTo ${scaleTo}, ${effective}) = ${jobsToCreate}`;
  }
  return { jobsToCreate, effectiveMaxScale: effective, scaleTo, why };
}
