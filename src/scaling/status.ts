// Status fields that follow from the spec and the measurements, and the canonical form of the status:
// keys sorted and empty fields left out, so an unchanged status compares equal however it is compared
// (the API server hands CR status back with sorted keys).

import type { ScaledObjectStatus, TriggerMeasurement, TriggerSpec } from './types.ts';

const RESOURCE_TRIGGERS = new Set(['cpu', 'memory']);

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** KEDA's triggersTypes and authenticationsTypes: first-appearance order, comma-joined, always written */
export function typesFromSpec(spec: { triggers?: readonly TriggerSpec[] }): { triggersTypes: string; authenticationsTypes: string } {
  const triggers = spec.triggers ?? [];
  return {
    triggersTypes: distinct(triggers.map((t) => t.type)).join(','),
    authenticationsTypes: distinct(
      triggers.flatMap((t) => (t.authenticationRef ? [t.authenticationRef.name] : [])),
    ).join(','),
  };
}

export function metricNamesFromMeasurements(
  measurements: readonly TriggerMeasurement[],
): Pick<ScaledObjectStatus, 'externalMetricNames' | 'resourceMetricNames'> {
  const ordered = [...measurements].sort((a, b) => a.index - b.index);
  const resource = ordered.filter((m) => RESOURCE_TRIGGERS.has(m.type)).map((m) => m.type);
  return {
    externalMetricNames: ordered.filter((m) => !RESOURCE_TRIGGERS.has(m.type)).map((m) => m.metricName),
    ...(resource.length > 0 ? { resourceMetricNames: distinct(resource) } : {}),
  };
}

export function isResourceTrigger(type: string): boolean {
  return RESOURCE_TRIGGERS.has(type);
}

/** sorted keys at every level, undefined dropped; arrays keep their order (conditions are ordered) */
export function canonical<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => canonical(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out as T;
  }
  return value;
}
