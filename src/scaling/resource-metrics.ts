// The HPA's replica formulas for cpu and memory (Resource and ContainerResource metrics), ported from
// Kubernetes v1.37 pkg/controller/podautoscaler: replica_calculator.go (GetResourceReplicas,
// GetRawResourceReplicas / calcPlainMetricReplicas, groupPods, calculateRequests), metrics/utilization.go
// and the resource metrics client (getPodMetrics, getContainerMetrics). Plain data in (the target's
// pods, metrics.k8s.io samples, the target, now), a count and why out, or the HPA's error.
// Milli-values are summed as bigint: the HPA sums int64, and a memory total in milli-bytes passes
// 2^53 at a few TiB; times are ms since epoch.

import type { Tolerance } from './tolerance.ts';
import { withinTolerance } from './tolerance.ts';
import { formatMilli } from './quantity.ts';
import { formatNumber } from './time.ts';
import { podRequests } from './pod-requests.ts';

export type ResourceName = 'cpu' | 'memory';

/** milli-units per resource; a resource that is absent is not set (which differs from 0) */
export type ResourceList = Partial<Record<ResourceName, bigint>>;

export interface PodContainer {
  name: string;
  requests: ResourceList;
}

export interface PodInitContainer extends PodContainer {
  /** restartPolicy Always: a sidecar, whose requests count like a container's */
  restartable: boolean;
}

export interface ResourcePod {
  name: string;
  /** status.phase ('' when not reported yet) */
  phase: string;
  /** metadata.deletionTimestamp is set */
  deleted: boolean;
  /** the Ready condition; absent when the pod has none */
  ready?: { status: string; lastTransitionTime: number };
  /** status.startTime; absent until the kubelet has started the pod */
  startTime?: number;
  containers: PodContainer[];
  initContainers: PodInitContainer[];
  /** spec.resources.requests when the pod sets pod-level requests (cpu, memory or hugepages-*) */
  podRequests?: ResourceList;
  /** spec.overhead (RuntimeClass), added to pod-level requests */
  overhead?: ResourceList;
}

/** One PodMetrics item of metrics.k8s.io. */
export interface PodUsage {
  /** the pod's name */
  name: string;
  timestamp: number;
  windowMs: number;
  containers: { name: string; usage: ResourceList }[];
}

export type ResourceTarget =
  | { type: 'Utilization'; averageUtilization: number }
  | { type: 'AverageValue'; averageValueMilli: bigint };

export interface ResourceMetricInput {
  resource: ResourceName;
  target: ResourceTarget;
  /** set: a ContainerResource metric on that container; unset: the whole pod */
  containerName?: string;
  /** the PodMetrics of the target's pods, or why metrics.k8s.io could not be read */
  podMetrics: PodUsage[] | { error: string };
  /** the pods matching the target's selector, or why they could not be listed */
  pods: ResourcePod[] | { error: string };
  /** the HPA cannot compute any metric for this target (e.g. 'selector is required'), in its words */
  error?: string;
  /** the cluster's HPA timing flags; the HPA's defaults when unset */
  timing?: ReadinessTiming;
}

/** kube-controller-manager's --horizontal-pod-autoscaler-cpu-initialization-period and -initial-readiness-delay */
export interface ReadinessTiming {
  cpuInitializationPeriodMs: number;
  delayOfInitialReadinessStatusMs: number;
}

export const HPA_DEFAULT_TIMING: ReadinessTiming = { cpuInitializationPeriodMs: 5 * 60_000, delayOfInitialReadinessStatusMs: 30_000 };

export type ResourceProposal =
  | {
      replicas: number;
      why: string;
      /** the HPA's name for the metric, as its SuccessfulRescale reason says '<name> above target' */
      hpaMetric: string;
    }
  | { error: string };

export interface PodMetric {
  timestamp: number;
  windowMs: number;
  value: bigint;
}

/** The HPA's name for the metric (computeStatusForResourceMetricGeneric's metricNameProposal). */
export function hpaMetricName(input: Pick<ResourceMetricInput, 'resource' | 'target' | 'containerName'>): string {
  if (input.target.type === 'AverageValue') return `${input.resource} resource`;
  return `${input.resource}${input.containerName ? ' container' : ''} resource utilization (percentage of request)`;
}

/** getPodMetrics / getContainerMetrics: a pod without the resource (in every container, or in the named one) has no metric. */
export function podMetricsInfo(raw: readonly PodUsage[], resource: ResourceName, container: string | undefined): Map<string, PodMetric> {
  const out = new Map<string, PodMetric>();
  for (const m of raw) {
    if (container) {
      const v = m.containers.find((c) => c.name === container)?.usage[resource];
      if (v !== undefined) out.set(m.name, { timestamp: m.timestamp, windowMs: m.windowMs, value: v });
      continue;
    }
    let sum = 0n;
    let missing = m.containers.length === 0;
    for (const c of m.containers) {
      const v = c.usage[resource];
      if (v === undefined) {
        missing = true;
        break;
      }
      sum += v;
    }
    if (!missing) out.set(m.name, { timestamp: m.timestamp, windowMs: m.windowMs, value: sum });
  }
  return out;
}

export interface PodGroups {
  readyPodCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/**
 * groupPods: deleted and failed pods are ignored; pending pods are unready; a pod without a sample is
 * missing. For cpu only, a pod is also unready while it is not Ready, or, within the cpu
 * initialization period after it started, until one full metric window was sampled after it became
 * Ready; after that period it counts unless it is not Ready and never was (its Ready condition last
 * changed within the initial readiness delay after start).
 */
export function groupPods(
  pods: readonly ResourcePod[],
  metrics: ReadonlyMap<string, PodMetric>,
  resource: ResourceName,
  now: number,
  timing: ReadinessTiming,
): PodGroups {
  const g: PodGroups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    if (pod.deleted || pod.phase === 'Failed') {
      g.ignored.add(pod.name);
      continue;
    }
    if (pod.phase === 'Pending') {
      g.unready.add(pod.name);
      continue;
    }
    const metric = metrics.get(pod.name);
    if (metric === undefined) {
      g.missing.add(pod.name);
      continue;
    }
    if (resource === 'cpu') {
      const condition = pod.ready;
      let unready: boolean;
      if (condition === undefined || pod.startTime === undefined) {
        unready = true;
      } else if (pod.startTime + timing.cpuInitializationPeriodMs > now) {
        unready = condition.status === 'False' || metric.timestamp < condition.lastTransitionTime + metric.windowMs;
      } else {
        unready = condition.status === 'False' && pod.startTime + timing.delayOfInitialReadinessStatusMs > condition.lastTransitionTime;
      }
      if (unready) {
        g.unready.add(pod.name);
        continue;
      }
    }
    g.readyPodCount++;
  }
  return g;
}

interface Ratio {
  ratio: number;
  /** what the ratio was computed from, for the reason */
  shown: string;
}

/** metrics/utilization.go GetResourceUtilizationRatio: whole percent of the requests of the pods that have a metric. */
export function utilizationRatio(metrics: ReadonlyMap<string, PodMetric>, requests: ReadonlyMap<string, bigint>, target: number): (Ratio & { utilization: number }) | { error: string } {
  let total = 0n;
  let requested = 0n;
  for (const [pod, m] of metrics) {
    const r = requests.get(pod);
    // metrics of pods the list does not hold are extraneous
    if (r === undefined) continue;
    total += m.value;
    requested += r;
  }
  if (requested === 0n) return { error: 'no metrics returned matched known pods' };
  const utilization = Number((total * 100n) / requested);
  return { ratio: utilization / target, utilization, shown: `${utilization}% of requests` };
}

/** metrics/utilization.go GetMetricUsageRatio: the average per pod (integer milli) against the target. */
export function usageRatio(metrics: ReadonlyMap<string, PodMetric>, target: bigint, resource: ResourceName): Ratio {
  let total = 0n;
  for (const m of metrics.values()) total += m.value;
  const average = total / BigInt(metrics.size);
  return { ratio: Number(average) / Number(target), shown: `${formatMilli(resource, average)} per pod` };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * One cpu/memory trigger's proposal, as the HPA computes it for its Resource (or ContainerResource)
 * metric. currentReplicas is the target's spec.replicas, returned whenever the change would be too
 * small or the unready and missing pods would turn its direction round.
 */
export function resourceProposal(
  input: ResourceMetricInput,
  currentReplicas: number,
  tolerance: Tolerance,
  now: number,
  timing: ReadinessTiming = input.timing ?? HPA_DEFAULT_TIMING,
): ResourceProposal {
  const { resource, target, containerName } = input;
  const utilization = target.type === 'Utilization';
  const fail = (error: string): ResourceProposal => ({ error: `failed to get ${resource} ${utilization ? 'utilization' : 'usage'}: ${error}` });
  if (input.error !== undefined) return { error: input.error };
  if ('error' in input.podMetrics) {
    return fail(`unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: ${input.podMetrics.error}`);
  }
  if (input.podMetrics.length === 0) return fail(`unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
  const metrics = podMetricsInfo(input.podMetrics, resource, containerName);
  if ('error' in input.pods) return fail(`unable to get pods while calculating replica count: ${input.pods.error}`);
  const pods = input.pods;
  if (pods.length === 0) return fail('no pods returned by selector while calculating replica count');

  const g = groupPods(pods, metrics, resource, now, timing);
  for (const name of [...g.ignored, ...g.unready]) metrics.delete(name);
  if (metrics.size === 0) return fail('did not receive metrics for targeted pods (pods might be unready)');

  let ratioOf: (m: ReadonlyMap<string, PodMetric>) => Ratio | { error: string };
  // what a pod without a sample is assumed to use on a scale-down
  let missingOnScaleDown: (pod: string) => bigint;
  let targetShown: string;
  let missingShown: string;
  if (target.type === 'Utilization') {
    const requests = podRequests(pods, containerName, resource);
    if ('error' in requests) return fail(requests.error);
    ratioOf = (m) => utilizationRatio(m, requests, target.averageUtilization);
    // 100% of the request, or the target when the target is above 100%
    const fallback = BigInt(Math.max(100, target.averageUtilization));
    missingOnScaleDown = (pod) => ((requests.get(pod) ?? 0n) * fallback) / 100n;
    targetShown = `${target.averageUtilization}%`;
    missingShown = `${fallback}% of requests`;
  } else {
    ratioOf = (m) => usageRatio(m, target.averageValueMilli, resource);
    missingOnScaleDown = () => target.averageValueMilli;
    targetShown = formatMilli(resource, target.averageValueMilli);
    missingShown = 'the target';
  }
  const hpaMetric = hpaMetricName(input);
  const what = `${containerName ? `container ${containerName} ` : ''}${resource}`;
  const first = ratioOf(metrics);
  if ('error' in first) return fail(first.error);
  const seen = `${what} ${first.shown}, target ${targetShown}`;
  const keep = (why: string): ResourceProposal => ({ replicas: currentReplicas, why: `${seen}: ${why}`, hpaMetric });

  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (withinTolerance(first.ratio, tolerance)) return keep(`within tolerance, keeping ${currentReplicas}`);
    const replicas = Math.ceil(first.ratio * g.readyPodCount);
    return { replicas, why: `${seen}: ceil(${formatNumber(first.ratio)} x ${g.readyPodCount} ready) = ${replicas}`, hpaMetric };
  }

  // Pods the sample could not judge are counted against the direction of the change.
  const assumed: string[] = [];
  if (g.missing.size > 0) {
    if (first.ratio < 1) {
      for (const pod of g.missing) metrics.set(pod, { timestamp: 0, windowMs: 0, value: missingOnScaleDown(pod) });
      assumed.push(`${plural(g.missing.size, 'pod')} without metrics counted at ${missingShown}`);
    } else if (first.ratio > 1) {
      for (const pod of g.missing) metrics.set(pod, { timestamp: 0, windowMs: 0, value: 0n });
      assumed.push(`${plural(g.missing.size, 'pod')} without metrics counted at 0`);
    }
  }
  if (scaleUpWithUnready) {
    for (const pod of g.unready) metrics.set(pod, { timestamp: 0, windowMs: 0, value: 0n });
    assumed.push(`${plural(g.unready.size, 'unready pod')} counted at 0`);
  }
  const second = ratioOf(metrics);
  if ('error' in second) return fail(second.error);
  const recount = `${assumed.length > 0 ? `${assumed.join(', ')}: ` : ''}${second.shown}`;
  if (withinTolerance(second.ratio, tolerance)) return keep(`${recount} is within tolerance, keeping ${currentReplicas}`);
  if ((first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) {
    return keep(`${recount} would reverse the direction, keeping ${currentReplicas}`);
  }
  const replicas = Math.ceil(second.ratio * metrics.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) {
    return keep(`${recount}: ceil(${formatNumber(second.ratio)} x ${metrics.size} pods) = ${replicas} would reverse the direction, keeping ${currentReplicas}`);
  }
  return { replicas, why: `${seen}; ${recount}: ceil(${formatNumber(second.ratio)} x ${metrics.size} pods) = ${replicas}`, hpaMetric };
}
