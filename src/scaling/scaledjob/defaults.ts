// KEDA's defaults and bounds for a ScaledJob. KEDA's CRD fills in none of them, so a spec arrives with
// any of these fields missing and the decision resolves them here, exactly as KEDA's accessors do.

import type { PropagationPolicy, RolloutStrategy, ScaledJobSpec } from './types.ts';

export const DEFAULT_POLLING_INTERVAL_S = 30;
/** KEDA v2.20 pkg/scaling/executor/scale_jobs.go */
export const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 100;
export const DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 100;
/** KEDA v2.20 apis/keda/v1alpha1/scaledjob_types.go */
export const DEFAULT_MAX_REPLICA_COUNT = 100;
export const DEFAULT_MIN_REPLICA_COUNT = 0;

export interface ResolvedJobSpec {
  pollingIntervalS: number;
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
  /** KEDA's MinReplicaCount(): the minimum, lowered to maxReplicaCount when it is above it */
  minReplicaCount: number;
  /**
   * KEDA's MaxReplicaCount(): the room above the minimum. An explicit maximum gives
   * maxReplicaCount - minReplicaCount (just maxReplicaCount when min > max); an unset one gives 100
   * whatever the minimum. Every formula of the strategies uses this number, not the spec's field.
   */
  maxReplicaCount: number;
  rolloutStrategy: RolloutStrategy;
  /** where the strategy came from, for the reason line */
  rolloutFrom: 'rolloutStrategy' | 'rollout.strategy' | 'default';
  propagationPolicy: PropagationPolicy;
  pendingPodConditions: string[];
}

export function resolveJobSpec(spec: ScaledJobSpec): ResolvedJobSpec {
  const min = spec.minReplicaCount;
  const max = spec.maxReplicaCount;
  const minReplicaCount = min === undefined ? DEFAULT_MIN_REPLICA_COUNT : max !== undefined && min > max ? max : min;
  const maxReplicaCount = max === undefined ? DEFAULT_MAX_REPLICA_COUNT : min !== undefined && min > max ? max : max - minReplicaCount;
  // KEDA reads the deprecated field first when it is non-empty; anything but "gradual" deletes
  const legacy = spec.rolloutStrategy;
  const rolloutFrom = legacy ? 'rolloutStrategy' : spec.rollout?.strategy ? 'rollout.strategy' : 'default';
  const named = legacy || spec.rollout?.strategy;
  return {
    pollingIntervalS: spec.pollingInterval ?? DEFAULT_POLLING_INTERVAL_S,
    successfulJobsHistoryLimit: spec.successfulJobsHistoryLimit ?? DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
    failedJobsHistoryLimit: spec.failedJobsHistoryLimit ?? DEFAULT_FAILED_JOBS_HISTORY_LIMIT,
    minReplicaCount,
    maxReplicaCount,
    rolloutStrategy: named === 'gradual' ? 'gradual' : 'immediate',
    rolloutFrom,
    propagationPolicy: spec.rollout?.propagationPolicy === 'foreground' ? 'Foreground' : 'Background',
    pendingPodConditions: spec.scalingStrategy?.pendingPodConditions ?? [],
  };
}
