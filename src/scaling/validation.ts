// What KEDA's webhook and reconciler refuse. The webhook may be absent (failurePolicy Ignore), so the
// decision checks again and refuses to scale an object whose bounds contradict each other.

import type { ScaledObjectSpec, TriggerSpec } from './types.ts';
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

/**
 * KEDA's ValidateTriggers (apis/keda/v1alpha1/scaletriggers_types.go), run by the webhook and by the
 * ScaledJob reconciler: at least one trigger, useCachedMetrics not on cpu/memory/cron, trigger names unique.
 */
export function checkTriggers(triggers: readonly TriggerSpec[]): string | undefined {
  if (triggers.length === 0) return 'no triggers defined in the ScaledObject/ScaledJob';
  const names = new Set<string>();
  for (const t of triggers) {
    if (t.useCachedMetrics && (t.type === 'cpu' || t.type === 'memory' || t.type === 'cron')) {
      return `property "useCachedMetrics" is not supported for "${t.type}" scaler`;
    }
    if (t.name) {
      if (names.has(t.name)) return `triggerName "${t.name}" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique`;
      names.add(t.name);
    }
  }
  return undefined;
}
