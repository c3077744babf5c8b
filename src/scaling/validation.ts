// What KEDA's webhook and reconciler refuse. The webhook may be absent (failurePolicy Ignore), so the
// decision checks again and refuses to scale an object whose bounds contradict each other.

import type { ScaledObjectSpec } from './types.ts';
import type { ResolvedSpec } from './defaults.ts';
import { checkBehavior } from './behavior.ts';

/** KEDA's CheckReplicaCountBoundsAreValid; an explicit minReplicaCount 0 counts as 1 here, unset as 0. */
export function checkReplicaBounds(spec: ResolvedSpec): string | undefined {
  const min = spec.minReplicaCountSet ? Math.max(spec.minReplicaCount, 1) : 0;
  const max = spec.maxReplicaCount;
  if (min > max) return `MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`;
  const idle = spec.idleReplicaCount;
  if (idle !== undefined && idle >= min) return `IdleReplicaCount=${idle} must be less than MinReplicaCount=${min}`;
  return undefined;
}

/** The Ready=False message for a spec that cannot be scaled, in KEDA's '<step>: <error>' form. */
export function checkSpec(raw: ScaledObjectSpec, spec: ResolvedSpec): string | undefined {
  const bounds = checkReplicaBounds(spec);
  if (bounds) return `ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: ${bounds}`;
  const behavior = checkBehavior(raw.advanced?.horizontalPodAutoscalerConfig?.behavior);
  if (behavior) return `failed to ensure HPA is correctly created for ScaledObject: ${behavior}`;
  if (raw.advanced?.scalingModifiers?.formula !== undefined) {
    // scaling on the triggers one by one instead would silently do something else than asked
    return "ScaledObject doesn't have correct scalingModifiers specification: advanced.scalingModifiers.formula is not supported yet";
  }
  return undefined;
}
