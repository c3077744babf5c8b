// What KEDA's webhook and reconciler refuse. The webhook may be absent (failurePolicy Ignore), so the
// decision checks again and refuses to scale an object whose bounds contradict each other.

import type { PodTemplateResources, ScaledObjectSpec, TriggerSpec } from './types.ts';
import type { ResolvedSpec } from './defaults.ts';
import { checkBehavior } from './behavior.ts';
import { isResourceTrigger } from './status.ts';
import { parseModifiers, usesModifiers } from './modifiers.ts';

/** KEDA's CheckReplicaCountBoundsAreValid; an explicit minReplicaCount 0 counts as 1 here, unset as 0. */
export function checkReplicaBounds(spec: ResolvedSpec): string | undefined {
  const min = spec.minReplicaCountSet ? Math.max(spec.minReplicaCount, 1) : 0;
  const max = spec.maxReplicaCount;
  if (min > max) return `MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`;
  const idle = spec.idleReplicaCount;
  if (idle !== undefined && idle >= min) return `IdleReplicaCount=${idle} must be less than MinReplicaCount=${min}`;
  return undefined;
}

/**
 * KEDA's webhook verifyCPUMemoryScalers: each container (or the trigger's containerName) must request
 * or limit the resource, unless a LimitRange gives containers a default; and cpu/memory alone cannot
 * bring a workload back from 0, so such an object needs minReplicaCount >= 1. As in KEDA, only
 * Deployments and StatefulSets are checked (no podTemplate means another kind).
 */
export function checkResourceTriggers(raw: ScaledObjectSpec, template: PodTemplateResources | undefined): string | undefined {
  if (template === undefined) return undefined;
  const triggers = raw.triggers ?? [];
  for (const t of triggers) {
    if (!isResourceTrigger(t.type)) continue;
    const resource = t.type as 'cpu' | 'memory';
    const only = t.metadata?.containerName;
    for (const c of template.containers) {
      if (only && c.name !== only) continue;
      if (!c[resource] && !template.namespaceDefaults[resource]) {
        return `the scaledobject has a ${resource} trigger but the container ${c.name} doesn't have the ${resource} request defined`;
      }
    }
    if (triggers.every((x) => isResourceTrigger(x.type)) && !raw.minReplicaCount) {
      return "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)";
    }
  }
  return undefined;
}

/** KEDA's CheckFallbackValid, the part about cpu/memory: a fallback needs a trigger whose value can be replaced. */
export function checkFallbackTriggers(raw: ScaledObjectSpec): string | undefined {
  if (raw.fallback === undefined || usesModifiers(raw)) return undefined;
  if ((raw.triggers ?? []).some((t) => !isResourceTrigger(t.type))) return undefined;
  return 'at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled';
}

/** The Ready=False message for a spec that cannot be scaled, in KEDA's '<step>: <error>' form. */
export function checkSpec(raw: ScaledObjectSpec, spec: ResolvedSpec, template?: PodTemplateResources): string | undefined {
  const bounds = checkReplicaBounds(spec);
  if (bounds) return `ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: ${bounds}`;
  const triggers = checkTriggers(raw.triggers ?? []);
  if (triggers) return `ScaledObject doesn't have correct triggers specification: ${triggers}`;
  // the webhook's own words: KEDA refuses such an object when it is applied
  const resources = checkResourceTriggers(raw, template);
  if (resources) return resources;
  const fallback = checkFallbackTriggers(raw);
  if (fallback) return fallback;
  const behavior = checkBehavior(raw.advanced?.horizontalPodAutoscalerConfig?.behavior);
  if (behavior) return `failed to ensure HPA is correctly created for ScaledObject: ${behavior}`;
  const modifiers = parseModifiers(raw);
  if (modifiers !== undefined && 'error' in modifiers) {
    return `ScaledObject doesn't have correct scalingModifiers specification: ${modifiers.error}`;
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
