// Which Jobs count as running and pending, which finished Jobs the history limits remove, and which
// Jobs a rollout replaces. KEDA v2.20 pkg/scaling/executor/scale_jobs.go (isJobFinished,
// getPendingJobCount, cleanUp) and controllers/keda/scaledjob_controller.go (deletePreviousVersionScaleJobs).

import { parseTime } from '../time.ts';
import type { JobDeletion, JobSummary, PodSummary, PropagationPolicy, RolloutStrategy } from './types.ts';

export const GENERATION_ANNOTATION = 'scaledjob.keda.sh/generation';

/** the first Complete or Failed condition that is True, as KEDA's getFinishedJobConditionType */
export function finishedAs(job: JobSummary): 'Complete' | 'Failed' | undefined {
  for (const c of job.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/**
 * A Job that has not finished is pending while none of its pods has started: without
 * pendingPodConditions, no pod is Running or Succeeded; with them, no single pod has every listed
 * condition True. A Job with no pods yet is pending either way.
 */
export function isPending(job: JobSummary, pendingPodConditions: readonly string[]): boolean {
  if (finishedAs(job) !== undefined) return false;
  const pods = job.pods ?? [];
  if (pendingPodConditions.length > 0) return !pods.some((pod) => hasAll(pod, pendingPodConditions));
  return !pods.some((pod) => pod.phase === 'Running' || pod.phase === 'Succeeded');
}

function hasAll(pod: PodSummary, required: readonly string[]): boolean {
  const wanted = new Set(required);
  const met = new Set((pod.conditions ?? []).filter((c) => wanted.has(c.type) && c.status === 'True').map((c) => c.type));
  // KEDA compares the count of distinct conditions met with the length of the list, so a list that
  // names a condition twice can never be met and keeps every Job pending; kept, to count as KEDA does
  return met.size === required.length;
}

export interface JobCounts {
  running: number;
  pending: number;
}

/** KEDA counts every unfinished Job as running, one being deleted included */
export function countJobs(jobs: readonly JobSummary[], pendingPodConditions: readonly string[]): JobCounts {
  const unfinished = jobs.filter((j) => finishedAs(j) === undefined);
  return { running: unfinished.length, pending: unfinished.filter((j) => isPending(j, pendingPodConditions)).length };
}

/**
 * When a Job finished, for "oldest first". KEDA sorts by status.completionTime only, which the Job
 * controller sets for successful Jobs alone, so its order of failed Jobs is the order of the list;
 * here a failed Job counts from the time its Failed condition turned True, or else its creation.
 */
export function finishedAt(job: JobSummary): number {
  const kind = finishedAs(job);
  const condition = job.conditions?.find((c) => c.type === kind && c.status === 'True');
  return parseTime(job.completionTime) ?? parseTime(condition?.lastTransitionTime) ?? parseTime(job.creationTimestamp) ?? 0;
}

/**
 * Finished Jobs beyond the history limits, oldest first, deleted in the background as KEDA does.
 * A Job already being deleted still counts towards the limit but is not deleted again.
 */
export function historyDeletions(jobs: readonly JobSummary[], successfulLimit: number, failedLimit: number): JobDeletion[] {
  const beyond = (kind: 'Complete' | 'Failed', limit: number, why: JobDeletion['why']): JobDeletion[] => {
    const finished = jobs
      .filter((j) => finishedAs(j) === kind)
      .sort((a, b) => finishedAt(a) - finishedAt(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const excess = Math.max(0, finished.length - limit);
    return finished
      .slice(0, excess)
      .filter((j) => !j.deleting)
      .map((j) => ({ name: j.name, propagationPolicy: 'Background' as const, why }));
  };
  return [...beyond('Complete', successfulLimit, 'successful-history'), ...beyond('Failed', failedLimit, 'failed-history')];
}

/**
 * The Jobs a rollout replaces: with any strategy but gradual, every Job (running or finished) whose
 * generation annotation is missing or differs from the ScaledJob's generation. KEDA does this when
 * it reconciles a changed spec; a pass does it whenever it finds such Jobs, which is the same once
 * they are gone. Jobs already being deleted are left to finish being deleted.
 */
export function rolloutDeletions(
  jobs: readonly JobSummary[],
  generation: number,
  strategy: RolloutStrategy,
  propagationPolicy: PropagationPolicy,
): JobDeletion[] {
  if (strategy === 'gradual') return [];
  const current = String(generation);
  return jobs
    .filter((j) => !j.deleting && j.generation !== current)
    .map((j) => ({ name: j.name, propagationPolicy, why: 'rollout' as const }));
}

/**
 * The Jobs as the next LIST will show them after these deletions: a background deletion removes
 * the Job at once; a foreground one leaves it, being deleted, until its pods are gone, and KEDA
 * keeps counting it as running meanwhile.
 */
export function afterDeletions(jobs: readonly JobSummary[], deletions: readonly JobDeletion[]): JobSummary[] {
  const policy = new Map(deletions.map((d) => [d.name, d.propagationPolicy]));
  return jobs.flatMap((j) => {
    const p = policy.get(j.name);
    if (p === undefined) return [j];
    return p === 'Background' ? [] : [{ ...j, deleting: true }];
  });
}
