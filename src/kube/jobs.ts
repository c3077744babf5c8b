// The Jobs ScaledJobs own and their pods, read as one LIST per namespace each (by the label every such
// Job and pod carries, `scaledjob.keda.sh/name`), only for namespaces where a due ScaledJob needs them;
// and the writes: a Job created from its manifest (the server picks the name), a Job deleted with a
// propagation policy.
import { ApiError, type KubeRest } from './rest.ts';
import { listAll } from './resources.ts';
import { GENERATION_ANNOTATION } from '../scaling/scaledjob/jobs.ts';
import { SCALEDJOB_NAME_LABEL } from '../scaling/scaledjob/manifest.ts';
import type { JobManifest, JobSummary, PodSummary, PropagationPolicy } from '../scaling/scaledjob.ts';

interface OwnerReference { kind: string; name: string; controller?: boolean }

export interface Job {
  metadata: {
    name: string;
    namespace: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: { completionTime?: string; conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }> };
}

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[] };
  status?: PodSummary;
}

/** a listed Job or pod cut down to the fields above as its page arrives (no spec, no managedFields) */
const keepJob = (j: Job): Job => ({
  metadata: {
    name: j.metadata.name, namespace: j.metadata.namespace, creationTimestamp: j.metadata.creationTimestamp,
    ...(j.metadata.deletionTimestamp ? { deletionTimestamp: j.metadata.deletionTimestamp } : {}),
    ...(j.metadata.labels ? { labels: j.metadata.labels } : {}),
    ...(j.metadata.annotations ? { annotations: j.metadata.annotations } : {}),
  },
  ...(j.status ? { status: { completionTime: j.status.completionTime, conditions: j.status.conditions } } : {}),
});
const keepPod = (p: Pod): Pod => ({
  metadata: { name: p.metadata.name, labels: p.metadata.labels, ownerReferences: p.metadata.ownerReferences },
  ...(p.status ? { status: { phase: p.status.phase, conditions: p.status.conditions } } : {}),
});

/** A create that met a name the server had already given: generateName picked a taken suffix. */
const CREATE_ATTEMPTS = 3;

export class JobIndex {
  private readonly rest: KubeRest;
  private readonly signal: AbortSignal;
  private readonly jobsByNs = new Map<string, Promise<Map<string, Job[]>>>();
  private readonly podsByNs = new Map<string, Promise<Map<string, PodSummary[]>>>();
  constructor(rest: KubeRest, signal: AbortSignal) {
    this.rest = rest;
    this.signal = signal;
  }

  /** every Job of a ScaledJob in the namespace, by the ScaledJob's name; one LIST per namespace per pass */
  private jobs(ns: string): Promise<Map<string, Job[]>> {
    let p = this.jobsByNs.get(ns);
    if (!p) {
      p = listAll(this.rest, `/apis/batch/v1/namespaces/${ns}/jobs`, { labelSelector: SCALEDJOB_NAME_LABEL }, this.signal, keepJob).then((items) => {
        const by = new Map<string, Job[]>();
        for (const j of items) {
          const owner = j.metadata.labels?.[SCALEDJOB_NAME_LABEL] ?? '';
          by.set(owner, [...(by.get(owner) ?? []), j]);
        }
        return by;
      });
      this.jobsByNs.set(ns, p);
    }
    return p;
  }

  /** the pods of those Jobs, by Job name; one LIST per namespace per pass, only once some Job has not finished */
  private pods(ns: string): Promise<Map<string, PodSummary[]>> {
    let p = this.podsByNs.get(ns);
    if (!p) {
      p = listAll(this.rest, `/api/v1/namespaces/${ns}/pods`, { labelSelector: SCALEDJOB_NAME_LABEL }, this.signal, keepPod).then((items) => {
        const by = new Map<string, PodSummary[]>();
        for (const pod of items) {
          const job = jobNameOf(pod);
          if (!job) continue;
          by.set(job, [...(by.get(job) ?? []), { phase: pod.status?.phase, conditions: pod.status?.conditions }]);
        }
        return by;
      });
      this.podsByNs.set(ns, p);
    }
    return p;
  }

  /** The Jobs of ScaledJob `name`, as the decision reads them; pods only for those not finished. */
  async summaries(ns: string, name: string): Promise<JobSummary[]> {
    const jobs = (await this.jobs(ns)).get(name) ?? [];
    const unfinished = jobs.some((j) => !finished(j));
    const pods = unfinished ? await this.pods(ns) : new Map<string, PodSummary[]>();
    return jobs.map((j) => ({
      name: j.metadata.name,
      creationTimestamp: j.metadata.creationTimestamp,
      ...(j.metadata.deletionTimestamp ? { deleting: true } : {}),
      generation: j.metadata.annotations?.[GENERATION_ANNOTATION],
      completionTime: j.status?.completionTime,
      conditions: j.status?.conditions,
      ...(finished(j) ? {} : { pods: pods.get(j.metadata.name) ?? [] }),
    }));
  }
}

function finished(j: Job): boolean {
  return (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** the Job controller labels its pods with the Job's name (both label forms), and owns them */
function jobNameOf(pod: Pod): string | undefined {
  const l = pod.metadata.labels ?? {};
  return l['batch.kubernetes.io/job-name'] ?? l['job-name'] ?? pod.metadata.ownerReferences?.find((o) => o.kind === 'Job' && o.controller)?.name;
}

/** Creates one Job from the manifest; the server completes generateName. Returns the name given. */
export async function createJob(rest: KubeRest, manifest: JobManifest, signal?: AbortSignal): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await rest.create<Job>(`/apis/batch/v1/namespaces/${manifest.metadata.namespace}/jobs`, manifest, { signal });
      return created.metadata.name;
    } catch (e) {
      // a generated name that is taken: the server's 409 AlreadyExists; another suffix is tried
      if (e instanceof ApiError && e.status === 409 && e.reason === 'AlreadyExists' && attempt < CREATE_ATTEMPTS) continue;
      throw e;
    }
  }
}

/** Deletes a Job with the propagation policy given; false when it was already gone. */
export async function deleteJob(rest: KubeRest, ns: string, name: string, propagationPolicy: PropagationPolicy, signal?: AbortSignal): Promise<boolean> {
  try {
    await rest.delete(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`, { query: { propagationPolicy }, signal });
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return false;
    throw e;
  }
}
