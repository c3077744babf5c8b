// The HPA's replica formulas for external metrics (Kubernetes replica_calculator.go and
// computeReplicasForMetrics in horizontal.go), as plain numbers in and a count plus why out.
// KEDA hands every value and target to the HPA as a milli-quantity, so the arithmetic is in milli-units.
// cpu/memory (Resource metrics) have their own formula over pods in resource-metrics.ts; the max over
// metrics below takes both kinds alike.

import type { MetricType } from './types.ts';
import { formatNumber } from './time.ts';
import type { Tolerance } from './tolerance.ts';
import { withinTolerance } from './tolerance.ts';
import type { ResourceMetricInput } from './resource-metrics.ts';
import { resourceProposal } from './resource-metrics.ts';

export { DEFAULT_TOLERANCE, withinTolerance, type Tolerance } from './tolerance.ts';

/**
 * A value as the HPA receives it from KEDA: formatted to three decimals (so rounded, not truncated),
 * with NaN, infinities and negative values sent as 0.
 */
export function toMilli(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.round(Number(value.toFixed(3)) * 1000);
}

export interface Proposal {
  replicas: number;
  why: string;
  /** the HPA's name for the metric, when it is not `external metric <name>` */
  hpaMetric?: string;
}

export type ProposalOrError = Proposal | { error: string };

/**
 * AverageValue: compares the sum against target × the pods that exist (/scale status.replicas);
 * outside the tolerance it asks for ceil(sum / target).
 */
export function averageValueProposal(
  usageMilli: number,
  targetMilli: number,
  statusReplicas: number,
  tolerance: Tolerance,
): Proposal {
  const ratio = usageMilli / (targetMilli * statusReplicas);
  const usage = formatNumber(usageMilli / 1000);
  const target = formatNumber(targetMilli / 1000);
  if (withinTolerance(ratio, tolerance)) {
    return { replicas: statusReplicas, why: `${usage} for ${statusReplicas} x ${target} is within tolerance` };
  }
  const replicas = Math.ceil(usageMilli / targetMilli);
  return { replicas, why: `ceil(${usage} / ${target}) = ${replicas}` };
}

/**
 * Value: the ratio of the total to the target scales the ready pods. The HPA counts Running and
 * Ready pods; a selector that matches no pod at all is an error for that metric.
 */
export function valueProposal(
  usageMilli: number,
  targetMilli: number,
  specReplicas: number,
  statusReplicas: number,
  readyReplicas: number,
  tolerance: Tolerance,
): ProposalOrError {
  const ratio = usageMilli / targetMilli;
  const usage = formatNumber(usageMilli / 1000);
  const target = formatNumber(targetMilli / 1000);
  if (specReplicas === 0) {
    const replicas = Math.ceil(ratio);
    return { replicas, why: `ceil(${usage} / ${target}) = ${replicas}` };
  }
  if (withinTolerance(ratio, tolerance)) {
    return { replicas: specReplicas, why: `${usage} for target ${target} is within tolerance` };
  }
  if (statusReplicas <= 0 && readyReplicas <= 0) {
    return { error: 'unable to calculate ready pods: no pods returned by selector while calculating replica count' };
  }
  const replicas = Math.ceil(ratio * readyReplicas);
  return { replicas, why: `ceil(${usage} / ${target} x ${readyReplicas} ready) = ${replicas}` };
}

export interface MetricForReplicas {
  metricName: string;
  metricType: MetricType;
  /** the scaler's target in its own units */
  target: number;
  /** the value the HPA would read, in milli-units; absent when the read failed */
  valueMilli?: number;
  error?: string;
  /** cpu/memory: the pods and samples of a Resource metric, instead of a value */
  resource?: ResourceMetricInput;
}

export interface ReplicaState {
  specReplicas: number;
  statusReplicas: number;
  readyReplicas: number;
  /** ms; Resource metrics judge pod readiness against it */
  now: number;
}

export type MetricsVerdict =
  | {
      kind: 'proposal';
      replicas: number;
      /** the metric whose proposal won */
      metricName: string;
      /** the HPA's name for it, for the rescale reason ('<name> above target') */
      hpaMetric: string;
      why: string;
      /** metrics that could not propose, as 'name: error' */
      failures: string[];
    }
  | {
      /** the HPA changes nothing this pass: every metric failed, or a failure would let the rest scale down */
      kind: 'hold';
      why: string;
      failures: string[];
    };

export function proposalForMetric(
  metric: MetricForReplicas,
  state: ReplicaState,
  tolerance: Tolerance,
): ProposalOrError {
  if (metric.error !== undefined) return { error: metric.error };
  // the HPA passes spec.replicas as currentReplicas to its Resource metric calculation
  if (metric.resource !== undefined) return resourceProposal(metric.resource, state.specReplicas, tolerance, state.now);
  if (metric.valueMilli === undefined) return { error: 'no value was read' };
  const targetMilli = toMilli(metric.target);
  if (targetMilli <= 0) return { error: `target ${formatNumber(metric.target)} must be positive` };
  switch (metric.metricType) {
    case 'AverageValue':
      return averageValueProposal(metric.valueMilli, targetMilli, state.statusReplicas, tolerance);
    case 'Value':
      return valueProposal(
        metric.valueMilli,
        targetMilli,
        state.specReplicas,
        state.statusReplicas,
        state.readyReplicas,
        tolerance,
      );
    default:
      return { error: `metric type ${String(metric.metricType)} is only for cpu and memory triggers` };
  }
}

/**
 * The largest proposal wins. A failing metric must never let the others shrink the target: if any
 * metric failed and the rest would scale down, nothing changes (the HPA's rule).
 */
export function replicasForMetrics(
  metrics: readonly MetricForReplicas[],
  state: ReplicaState,
  tolerance: Tolerance,
): MetricsVerdict {
  let best: { replicas: number; metricName: string; hpaMetric: string; why: string } | undefined;
  const failures: string[] = [];
  for (const metric of metrics) {
    const proposal = proposalForMetric(metric, state, tolerance);
    if ('error' in proposal) {
      failures.push(`${metric.metricName}: ${proposal.error}`);
      continue;
    }
    if (best === undefined || proposal.replicas > best.replicas) {
      best = {
        replicas: proposal.replicas,
        metricName: metric.metricName,
        hpaMetric: proposal.hpaMetric ?? `external metric ${metric.metricName}`,
        why: proposal.why,
      };
    }
  }
  if (best === undefined) {
    return {
      kind: 'hold',
      why: metrics.length === 0 ? 'no metrics to compute replicas from' : `every metric failed (${failures.join('; ')})`,
      failures,
    };
  }
  if (failures.length > 0 && best.replicas < state.specReplicas) {
    return {
      kind: 'hold',
      why: `${best.metricName} wants ${best.replicas}, but a failed metric never lets the target shrink (${failures.join('; ')})`,
      failures,
    };
  }
  return {
    kind: 'proposal',
    replicas: best.replicas,
    metricName: best.metricName,
    hpaMetric: best.hpaMetric,
    why: `${best.metricName} wants ${best.replicas}: ${best.why}`,
    failures,
  };
}
