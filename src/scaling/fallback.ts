// Scaler failures, health counting and fallback (KEDA pkg/fallback). A failure is counted once per
// pass here: KEDA also counts the HPA's own reads every 15 s, so its counter climbs faster per minute;
// failureThreshold here means "failed passes".

import type { HealthStatus, MetricType, ScaledObjectSpec, TriggerMeasurement } from './types.ts';
import { toMilli } from './replica-calculator.ts';
import { formatNumber } from './time.ts';
import type { ResourceMetricInput } from './resource-metrics.ts';
import { isResourceTrigger } from './status.ts';

type FallbackSpec = NonNullable<ScaledObjectSpec['fallback']>;

/** KEDA ignores a fallback block with negative numbers rather than rejecting the object */
export function fallbackIsValid(fallback: ScaledObjectSpec['fallback']): fallback is FallbackSpec {
  return fallback !== undefined && fallback.failureThreshold >= 0 && fallback.replicas >= 0;
}

export interface TriggerReading {
  index: number;
  /** the trigger's name: its variable in a scalingModifiers formula */
  name?: string;
  metricName: string;
  type: string;
  metricType: MetricType;
  target: number;
  /** what the HPA reads, in milli-units; absent when the read failed and no fallback replaced it */
  valueMilli?: number;
  /** for reporting: the scaler's value, or the synthetic fallback value */
  value?: number;
  active: boolean;
  error?: string;
  /** the value is fallback's, standing in for a failed read */
  fallback: boolean;
  /** how the fallback count was chosen, e.g. 'max(current 9, fallback 6)' */
  fallbackWhy?: string;
  /** past failureThreshold with fallback.behavior scalingModifiers: no value and no error, nil in the formula */
  nil?: boolean;
  /** cpu/memory: the pods and samples the replica formula reads */
  resource?: ResourceMetricInput;
}

export type FallbackValue = { valueMilli: number; replicas: number; why: string } | { error: string };

/**
 * The value that makes the HPA land on the fallback replica count: target x replicas for
 * AverageValue; Value targets are multiplied by ready pods in the HPA, so they are divided here.
 */
export function fallbackValue(
  fallback: FallbackSpec,
  metricType: MetricType,
  target: number,
  currentReplicas: number,
  readyReplicas: number,
): FallbackValue {
  let replicas: number;
  let why: string;
  switch (fallback.behavior) {
    case 'currentReplicas':
      replicas = currentReplicas;
      why = `current replicas ${currentReplicas}`;
      break;
    case 'currentReplicasIfHigher':
      replicas = Math.max(currentReplicas, fallback.replicas);
      why = `max(current ${currentReplicas}, fallback ${fallback.replicas})`;
      break;
    case 'currentReplicasIfLower':
      replicas = Math.min(currentReplicas, fallback.replicas);
      why = `min(current ${currentReplicas}, fallback ${fallback.replicas})`;
      break;
    default:
      replicas = fallback.replicas;
      why = `fallback replicas ${fallback.replicas}`;
  }
  let perPod = replicas;
  if (metricType === 'Value') {
    if (readyReplicas <= 0) return { error: 'error performing fallback: no ready pods to divide a Value target by' };
    perPod = replicas / readyReplicas;
  }
  // KEDA truncates target x replicas to milli-units
  const valueMilli = Math.trunc(target * 1000 * perPod);
  return { valueMilli, replicas, why };
}

/**
 * A trigger whose target was never learned (external before its first GetMetricSpec answer) has target 0,
 * and so does one below a milli-unit: 0 x replicas over a target of 0 is no count the HPA can compute, and
 * the object would keep its size while its reason says the fallback stands in. The fallback's value only
 * has to make the HPA land on the fallback count, so a unit target stands in for the unknown one: value
 * = replicas, target = 1. The HPA's tolerance, limits and behavior then apply as for any fallback.
 */
const UNIT_TARGET = 1;

function fallbackTarget(target: number): number {
  return toMilli(target) > 0 ? target : UNIT_TARGET;
}

export interface FallbackOutcome {
  readings: TriggerReading[];
  /** undefined when no valid fallback is configured: KEDA writes health only then */
  health: Record<string, HealthStatus> | undefined;
  /** some metric failed more often than failureThreshold (the Fallback condition) */
  fallbackActive: boolean;
}

/**
 * With scalingModifiers the fallback value is expressed against the composite metric's target and type,
 * and KEDA counts the fallback as configured only when that target is an integer above 0.
 */
export interface CompositeFallback {
  target: number;
  metricType: MetricType;
  usable: boolean;
}

export function applyFallback(
  measurements: readonly TriggerMeasurement[],
  fallback: ScaledObjectSpec['fallback'],
  previousHealth: Record<string, HealthStatus> | undefined,
  currentReplicas: number,
  readyReplicas: number,
  composite?: CompositeFallback,
): FallbackOutcome {
  const configured = fallbackIsValid(fallback) && (composite === undefined || composite.usable);
  const health: Record<string, HealthStatus> = {};
  const readings = [...measurements]
    .sort((a, b) => a.index - b.index)
    .map((m): TriggerReading => {
      const base = {
        index: m.index,
        name: m.name,
        metricName: m.metricName,
        type: m.type,
        metricType: m.metricType,
        target: m.target,
        fallback: false,
      };
      // cpu/memory are the HPA's own Resource metrics: KEDA keeps no health for them, never puts a
      // fallback in their place, and they never make the object active (see objectActivity)
      if (isResourceTrigger(m.type)) {
        if (m.error !== undefined || m.resource === undefined) return { ...base, active: false, error: m.error ?? 'no resource metric was read' };
        return { ...base, active: false, resource: m.resource };
      }
      const error = m.error ?? (m.value === undefined ? 'the scaler returned no value' : undefined);
      if (error === undefined && m.value !== undefined) {
        if (configured) health[m.metricName] = { numberOfFailures: 0, status: 'Happy' };
        return {
          ...base,
          value: m.value,
          valueMilli: toMilli(m.value),
          active: m.active ?? m.value > m.activationTarget,
        };
      }
      const failed = { ...base, active: false, error: error ?? 'unknown error' };
      if (!configured) return failed;
      const failures = (previousHealth?.[m.metricName]?.numberOfFailures ?? 0) + 1;
      health[m.metricName] = { numberOfFailures: failures, status: 'Failing' };
      if (failures <= fallback.failureThreshold) return failed;
      if (composite !== undefined && fallback.behavior === 'scalingModifiers') {
        // KEDA's placeholder: the error is gone, the formula sees nil and decides (e.g. with ??)
        return { ...base, active: false, nil: true, fallbackWhy: 'nil in the formula (fallback.behavior scalingModifiers)' };
      }
      if (composite !== undefined) {
        const synthetic = fallbackValue(fallback, composite.metricType, composite.target, currentReplicas, readyReplicas);
        if ('error' in synthetic) return { ...failed, error: `${failed.error}; ${synthetic.error}` };
        return {
          ...base,
          value: synthetic.valueMilli / 1000,
          valueMilli: synthetic.valueMilli,
          active: true,
          fallback: true,
          fallbackWhy: `${synthetic.why}, as composite-metric against scalingModifiers.target`,
        };
      }
      const target = fallbackTarget(m.target);
      const synthetic = fallbackValue(fallback, m.metricType, target, currentReplicas, readyReplicas);
      if ('error' in synthetic) return { ...failed, error: `${failed.error}; ${synthetic.error}` };
      const unknown = target === m.target ? '' : `, its target unknown (${formatNumber(m.target)}): a target of ${UNIT_TARGET} stands in`;
      // fallback counts as active, so an object resting at 0 is woken up to serve it
      return {
        ...base,
        target,
        value: synthetic.valueMilli / 1000,
        valueMilli: synthetic.valueMilli,
        active: true,
        fallback: true,
        fallbackWhy: `${synthetic.why}${unknown}`,
      };
    });
  const fallbackActive =
    configured &&
    Object.values(health).some((h) => h.status === 'Failing' && (h.numberOfFailures ?? 0) > fallback.failureThreshold);
  return { readings, health: configured ? health : undefined, fallbackActive };
}
