// The HPA's syncs between two evaluations of one object, applied in one go (a run in `period` mode).
//
// The HPA KEDA creates syncs every 15 s (kube-controller-manager's --horizontal-pod-autoscaler-sync-period)
// and takes one rate-limited step each time: from 1 replica it can reach 4, 8, 16, 32, 64 in five
// syncs. An object evaluated only at its pollingInterval would take one step per evaluation and lag
// KEDA + the HPA by minutes on a burst. So an evaluation applies every sync that fell since the
// object's previous evaluation, each at its own instant (stabilization windows and rate policies see
// the times they would have seen), and right after an activation the sync that would follow it.
//
// Every step uses the value measured now: the HPA would have read it at each sync. That is exact for
// an AverageValue metric whose total did not change (its proposal, ceil(total / target), does not
// depend on the replicas) and wrong for per-pod metrics (Value, cpu/memory), whose readings change
// with the pods the earlier steps add. Those take one step per evaluation, and only once a sync fell.

import type { HpaSyncInput, HpaSyncResult } from './hpa.ts';
import { hpaSync } from './hpa.ts';
import type { MetricForReplicas } from './replica-calculator.ts';

/** the HPA controller's default sync period */
export const HPA_SYNC_PERIOD_MS = 15_000;
/** a long gap (a shard's first pass in hours) converges long before this many steps */
export const MAX_CATCH_UP_STEPS = 16;

/**
 * The HPA's sync instants in (previous, now]: multiples of the sync period (the HPA's phase is its
 * own; a fixed one keeps the count exact). Without a previous evaluation on record, one sync, now.
 */
export function syncInstants(previous: number | undefined, now: number, periodMs = HPA_SYNC_PERIOD_MS): number[] {
  if (previous === undefined || previous >= now) return previous === undefined ? [now] : [];
  const out: number[] = [];
  for (let t = Math.floor(now / periodMs) * periodMs; t > previous && out.length < MAX_CATCH_UP_STEPS; t -= periodMs) out.unshift(t);
  return out;
}

/** Metrics whose proposal does not depend on the replicas: several steps on one reading are exact. */
export function replicaIndependent(metrics: readonly MetricForReplicas[]): boolean {
  return metrics.length > 0 && metrics.every((m) => m.metricType === 'AverageValue' && m.resource === undefined);
}

export interface CatchUpResult extends HpaSyncResult {
  /** how many syncs were applied (0: none fell since the previous evaluation) */
  steps: number;
}

/**
 * The syncs at `instants`, in order, each starting from the replicas the one before chose (the pods
 * it asked for counted as created). Per-pod metrics take only the last instant.
 */
export function catchUp(input: Omit<HpaSyncInput, 'now'>, instants: readonly number[]): CatchUpResult {
  const at = replicaIndependent(input.metrics) ? instants : instants.slice(-1);
  if (at.length === 0) {
    return {
      replicas: input.specReplicas,
      reason: `keeping ${input.specReplicas}: no HPA sync (every ${HPA_SYNC_PERIOD_MS / 1000} s) since the previous evaluation`,
      recommendations: input.recommendations ? [...input.recommendations] : undefined,
      scaleEvents: input.scaleEvents ? [...input.scaleEvents] : undefined,
      steps: 0,
    };
  }
  const start = input.specReplicas;
  let state = { ...input };
  let last: HpaSyncResult | undefined;
  let rescaleReason: string | undefined;
  for (const now of at) {
    last = hpaSync({ ...state, now });
    if (last.rescaleReason) rescaleReason = last.rescaleReason;
    state = {
      ...state,
      specReplicas: last.replicas,
      statusReplicas: at.length > 1 ? last.replicas : state.statusReplicas,
      recommendations: last.recommendations,
      scaleEvents: last.scaleEvents,
    };
  }
  const result = last!;
  const { rescaleReason: _, ...rest } = result;
  return {
    ...rest,
    reason: at.length > 1 ? `${at.length} HPA syncs since the previous evaluation took ${start} -> ${result.replicas}; the last: ${result.reason}` : result.reason,
    ...(result.replicas !== start ? { rescaleReason } : {}),
    steps: at.length,
  };
}
