// The ScaledObject arrives as written by the user; these are KEDA's defaults for what was left out.

import type { ScaledObjectSpec } from './types.ts';

export const DEFAULT_POLLING_INTERVAL_S = 30;
export const DEFAULT_COOLDOWN_PERIOD_S = 300;
export const DEFAULT_INITIAL_COOLDOWN_PERIOD_S = 0;
export const DEFAULT_MIN_REPLICA_COUNT = 0;
export const DEFAULT_MAX_REPLICA_COUNT = 100;

export interface ResolvedSpec {
  pollingIntervalS: number;
  cooldownPeriodS: number;
  initialCooldownPeriodS: number;
  /** minReplicaCount, 0 when unset */
  minReplicaCount: number;
  /** an explicit 0 and an unset minimum differ in KEDA's bounds check */
  minReplicaCountSet: boolean;
  idleReplicaCount: number | undefined;
  maxReplicaCount: number;
  /** the floor the replica formula works with: KEDA gives its HPA max(minReplicaCount, 1) */
  hpaMinReplicas: number;
}

export function resolveSpec(spec: ScaledObjectSpec): ResolvedSpec {
  const minReplicaCount = spec.minReplicaCount ?? DEFAULT_MIN_REPLICA_COUNT;
  return {
    pollingIntervalS: spec.pollingInterval ?? DEFAULT_POLLING_INTERVAL_S,
    cooldownPeriodS: spec.cooldownPeriod ?? DEFAULT_COOLDOWN_PERIOD_S,
    initialCooldownPeriodS: spec.initialCooldownPeriod ?? DEFAULT_INITIAL_COOLDOWN_PERIOD_S,
    minReplicaCount,
    minReplicaCountSet: spec.minReplicaCount !== undefined,
    idleReplicaCount: spec.idleReplicaCount,
    maxReplicaCount: spec.maxReplicaCount ?? DEFAULT_MAX_REPLICA_COUNT,
    hpaMinReplicas: Math.max(minReplicaCount, 1),
  };
}

/**
 * The target sits at its resting size: 0, or idleReplicaCount when set. There only activation
 * matters; KEDA's HPA is idle at 0 and lifts any idle count below its floor, which is why only an
 * idle count of 0 works in KEDA. Treating idle like 0 here makes every idle count behave.
 */
export function atRest(specReplicas: number, spec: ResolvedSpec): boolean {
  return specReplicas <= 0 || (spec.idleReplicaCount !== undefined && specReplicas <= spec.idleReplicaCount);
}
