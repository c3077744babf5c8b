// KEDA's ScaledJob event reasons and texts (pkg/eventreason/eventreason.go and where each is emitted),
// and the decision's events once its Job creates and deletes have been tried.

import type { DecisionEvent } from '../types.ts';

export const SCALED_JOB_READY: DecisionEvent = { type: 'Normal', reason: 'ScaledJobReady', message: 'ScaledJob is ready for scaling' };
export const SCALED_JOB_PAUSED: DecisionEvent = { type: 'Normal', reason: 'ScaledJobPaused', message: 'ScaledJob is paused' };
export const SCALED_JOB_UNPAUSED: DecisionEvent = { type: 'Normal', reason: 'ScaledJobUnpaused', message: 'ScaledJob is unpaused' };
export const SCALED_JOB_ACTIVE: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledJobActive',
  message: 'Scaling is performed because triggers are active',
};
export const SCALED_JOB_INACTIVE: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledJobInactive',
  message: 'Scaling is not performed because triggers are not active',
};

export function scaledJobCheckFailed(message: string): DecisionEvent {
  return { type: 'Warning', reason: 'ScaledJobCheckFailed', message };
}

export function jobsCreated(n: number): DecisionEvent {
  return { type: 'Normal', reason: 'KEDAJobsCreated', message: `Created ${n} jobs` };
}

/** KEDA names the Job by its generateName: the create failed, so no name was given */
export function jobCreateFailed(generateName: string, error: string): DecisionEvent {
  return { type: 'Warning', reason: 'KEDAJobCreateFailed', message: `Failed to create job ${generateName}: ${error}` };
}

export function rolloutCleanupStarted(n: number): DecisionEvent {
  return { type: 'Normal', reason: 'ScaledJobRolloutCleanupStarted', message: `Deleting ${n} jobs owned by the previous version of the scaledJob` };
}

export function rolloutCleanupCompleted(n: number): DecisionEvent {
  return { type: 'Normal', reason: 'ScaledJobRolloutCleanupCompleted', message: `Deleted ${n} jobs owned by the previous version of the scaledJob` };
}

export function rolloutCleanupFailed(job: string, error: string): DecisionEvent {
  return { type: 'Warning', reason: 'ScaledJobRolloutCleanupFailed', message: `Failed to delete job ${job}: ${error}` };
}

export interface JobWriteResults {
  /** the decision's jobsToCreate, and the generateName its creates used */
  jobsToCreate: number;
  generateName: string;
  /** one message per create that failed */
  createErrors: string[];
  /** the rollout delete that failed; KEDA stops its rollout there, and so should the caller */
  rolloutError?: { job: string; error: string };
  /**
   * the caller created none of the Jobs (after a failed rollout delete: the decision counted the old
   * Jobs as gone, so creating them would overshoot); no KEDAJobsCreated then
   */
  createsSkipped?: boolean;
}

/**
 * The decision's events after its writes: each failed create becomes a KEDAJobCreateFailed, and
 * KEDAJobsCreated counts the Jobs that exist (KEDA's text counts the attempted ones, even when all
 * failed); a failed rollout delete replaces the rollout's completion with
 * ScaledJobRolloutCleanupFailed; creates the caller skipped announce nothing. Other events stand.
 */
export function eventsAfterJobWrites(events: readonly DecisionEvent[], r: JobWriteResults): DecisionEvent[] {
  const out: DecisionEvent[] = [];
  for (const ev of events) {
    if (ev.reason === 'KEDAJobsCreated' && r.createsSkipped) continue;
    if (ev.reason === 'KEDAJobsCreated' && r.createErrors.length > 0) {
      for (const e of r.createErrors) out.push(jobCreateFailed(r.generateName, e));
      const created = r.jobsToCreate - r.createErrors.length;
      if (created > 0) out.push(jobsCreated(created));
    } else if (ev.reason === 'ScaledJobRolloutCleanupCompleted' && r.rolloutError) {
      out.push(rolloutCleanupFailed(r.rolloutError.job, r.rolloutError.error));
    } else {
      out.push(ev);
    }
  }
  return out;
}
