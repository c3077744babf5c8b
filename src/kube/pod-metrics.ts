// metrics.k8s.io PodMetrics (served by metrics-server), read in one request per namespace per pass and
// only when a due object has a cpu or memory trigger: every such object of the namespace takes its
// pods' samples from that one list.
import type { KubeRest } from './rest.ts';
import type { PodUsage, ResourceMetricInput } from '../scaling/resource-metrics.ts';
import { toResourcePod, type Pod } from './pods.ts';
import { cpuMemoryMilli } from '../scaling/quantity.ts';
import { parseTime } from '../scaling/time.ts';

/** One item of a metrics.k8s.io/v1beta1 PodMetricsList. */
export interface PodMetricsJson {
  metadata: { name: string };
  timestamp?: string;
  /** a Go duration, e.g. "10.5s" or "1m0s" */
  window?: string;
  containers?: { name: string; usage?: Record<string, string> }[];
}

interface PodMetricsList {
  items: PodMetricsJson[];
}

export class PodMetricsReader {
  private readonly rest: KubeRest;
  private readonly signal: AbortSignal | undefined;
  private readonly cache = new Map<string, Promise<PodMetricsJson[]>>();
  /** signal: the pass deadline; one trigger's own timeout must not fail the list the others share */
  constructor(rest: KubeRest, signal?: AbortSignal) {
    this.rest = rest;
    this.signal = signal;
  }

  /** every PodMetrics of the namespace; rejects with the API's error (e.g. 404 without metrics-server) */
  namespace(namespace: string): Promise<PodMetricsJson[]> {
    let p = this.cache.get(namespace);
    if (!p) {
      p = this.rest.list<PodMetricsList>(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`, { signal: this.signal }).then((l) => l.items ?? []);
      this.cache.set(namespace, p);
    }
    return p;
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in ms; undefined when the text is not a duration. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === '-' ? -ms : ms;
}

/**
 * The samples of the given pods, as the HPA's metrics client has them. The HPA lists PodMetrics with the
 * target's label selector; one list per namespace serves every target here, so the samples are taken
 * for the pods the selector's pod LIST returned.
 */
export function podUsages(items: readonly PodMetricsJson[], podNames: ReadonlySet<string>): PodUsage[] {
  return items.filter((i) => podNames.has(i.metadata.name)).map((i) => ({
    name: i.metadata.name,
    timestamp: parseTime(i.timestamp) ?? 0,
    windowMs: parseGoDuration(i.window ?? '0') ?? 0,
    containers: (i.containers ?? []).map((c) => ({ name: c.name, usage: cpuMemoryMilli(c.usage) })),
  }));
}

/**
 * What a cpu/memory trigger's Resource metric reads: the target's pods (from the selector's pod LIST)
 * and their samples (from the namespace's PodMetrics), or why either could not be read.
 */
export function resourceMetricInput(
  metric: Pick<ResourceMetricInput, 'resource' | 'target' | 'containerName'>,
  pods: readonly Pod[] | { error: string },
  podMetrics: readonly PodMetricsJson[] | { error: string },
): ResourceMetricInput {
  const base = { resource: metric.resource, target: metric.target, ...(metric.containerName ? { containerName: metric.containerName } : {}) };
  if ('error' in pods) {
    // without the pod list the samples cannot be narrowed to the target; the pods' error decides anyway
    return { ...base, pods, podMetrics: 'error' in podMetrics ? podMetrics : podUsages(podMetrics, new Set(podMetrics.map((i) => i.metadata.name))) };
  }
  const names = new Set(pods.map((p) => p.metadata.name));
  return { ...base, pods: pods.map(toResourcePod), podMetrics: 'error' in podMetrics ? podMetrics : podUsages(podMetrics, names) };
}
