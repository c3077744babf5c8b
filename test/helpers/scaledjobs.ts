// ScaledJobs as a user writes them, and what their Jobs and pods do on the harness's simulated nodes:
// the scheduler binds the pods, kwok runs them (tests/harness/kwok/config/stages.yaml). A Job pod runs
// for the duration in its annotation `pod-complete.stage.kwok.x-k8s.io/delay`; the workload of these
// tests says it is done with its item by setting that annotation to 0s, and kwok completes the pod
// (or fails it with `scalepass.dev/test-outcome: fail`), after which the Job controller finishes the Job.
import type { Harness } from './harness.ts';
import { until } from './until.ts';

export const DELAY = 'pod-complete.stage.kwok.x-k8s.io/delay';
export const SJ_LABEL = 'scaledjob.keda.sh/name';
/** a nodeSelector no harness node has: the pods stay Pending (Unschedulable), so their Jobs are pending */
export const NOWHERE = { 'scalepass.dev/no-such-node': 'true' };

export interface JobTemplate {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
}

/** a Job that runs until its workload says it is done (or an hour, on kwok's clock) */
export function jobTargetRef(t: JobTemplate = {}) {
  return {
    backoffLimit: 0,
    template: {
      metadata: { annotations: { [DELAY]: '1h', ...t.annotations } },
      spec: {
        restartPolicy: 'Never',
        ...(t.nodeSelector ? { nodeSelector: t.nodeSelector } : {}),
        containers: [{ name: 'worker', image: 'registry.invalid/worker:1', env: t.env ?? [] }],
      },
    },
  };
}

export function scaledJob(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', metadata: { name, ...(annotations ? { annotations } : {}) }, spec };
}

export interface JobLive {
  metadata: {
    name: string; generateName?: string; uid: string; creationTimestamp: string; deletionTimestamp?: string;
    labels: Record<string, string>; annotations: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  spec: { template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } };
  status?: { completionTime?: string; conditions?: { type: string; status: string }[] };
}

interface PodLive {
  metadata: { name: string; annotations?: Record<string, string> };
  status: { phase?: string };
}

export const sjPath = (ns: string, name: string) => `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledjobs/${name}`;

export async function jobsOf(h: Harness, ns: string, sj: string): Promise<JobLive[]> {
  const l = await h.admin.list<{ items: JobLive[] }>(`/apis/batch/v1/namespaces/${ns}/jobs`, { query: { labelSelector: `${SJ_LABEL}=${sj}` } });
  return l.items.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.name.localeCompare(b.metadata.name));
}

export function isFinished(j: JobLive): boolean {
  return (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

async function podsOf(h: Harness, ns: string, job: string): Promise<PodLive[]> {
  const l = await h.admin.list<{ items: PodLive[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: `batch.kubernetes.io/job-name=${job}` } });
  return l.items;
}

/** every unfinished Job of the ScaledJob has a Running pod on a simulated node */
export function podsRunning(h: Harness, ns: string, sj: string, count: number): Promise<JobLive[]> {
  return until(`${count} Jobs of ${ns}/${sj} with a running pod`, async () => {
    const jobs = (await jobsOf(h, ns, sj)).filter((j) => !isFinished(j));
    if (jobs.length !== count) return undefined;
    for (const j of jobs) if (!(await podsOf(h, ns, j.metadata.name)).some((p) => p.status.phase === 'Running')) return undefined;
    return jobs;
  });
}

/** the workload is done with these Jobs' items: their pods complete (kwok) and the Jobs finish (Job controller) */
export async function finish(h: Harness, ns: string, jobs: readonly JobLive[]): Promise<void> {
  for (const j of jobs) {
    for (const p of await podsOf(h, ns, j.metadata.name)) {
      await h.admin.mergePatch(`/api/v1/namespaces/${ns}/pods/${p.metadata.name}`, { metadata: { annotations: { [DELAY]: '0s' } } });
    }
  }
  const names = new Set(jobs.map((j) => j.metadata.name));
  await until(`Jobs ${[...names].join(', ')} finished`, async () => {
    const all = await h.admin.list<{ items: JobLive[] }>(`/apis/batch/v1/namespaces/${ns}/jobs`);
    const mine = all.items.filter((j) => names.has(j.metadata.name));
    return mine.length === names.size && mine.every(isFinished) ? true : undefined;
  });
}
