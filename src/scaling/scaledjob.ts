// One pass for one ScaledJob: KEDA's ScaledJob reconcile and one poll of its scale loop, folded into a
// single decision. Pure: everything it knows comes in through ScaledJobDecideInput, including the time
// and the Jobs that exist; it returns the Jobs to create and delete, the status and the events.
//
// Order, as KEDA applies it: pause (autoscaling.keda.sh/paused stops everything) and unpause -> spec
// checks -> rollout (Jobs of other generations deleted, unless gradual) -> triggers combined ->
// running/pending counted -> strategy -> Jobs created -> finished Jobs beyond the history limits deleted.

import type { Condition, DecisionEvent } from './types.ts';
import { PAUSED_ANNOTATION, annotationIsTrue } from './annotations.ts';
import { ACTIVE_FALSE, ACTIVE_TRUE, findCondition, initializeConditions, isTrue, setCondition } from './conditions.ts';
import { scalerFailed } from './events.ts';
import { canonical, typesFromSpec } from './status.ts';
import { wholeSeconds } from './time.ts';
import { lastActiveTime } from './last-active.ts';
import { checkTriggers } from './validation.ts';
import {
  ACTIVE_UNKNOWN,
  CHECK_FAILED_REASON,
  PAUSED_FALSE,
  PAUSED_TRUE,
  READY_OK,
  READY_PARTIAL_TRIGGER_ERROR,
  READY_PAUSED,
  READY_TRIGGER_ERROR,
  readyCheckFailed,
} from './scaledjob/conditions.ts';
import {
  SCALED_JOB_ACTIVE,
  SCALED_JOB_INACTIVE,
  SCALED_JOB_PAUSED,
  SCALED_JOB_READY,
  SCALED_JOB_UNPAUSED,
  jobsCreated,
  rolloutCleanupCompleted,
  rolloutCleanupStarted,
  scaledJobCheckFailed,
} from './scaledjob/events.ts';
import { resolveJobSpec, type ResolvedJobSpec } from './scaledjob/defaults.ts';
import { combineTriggers } from './scaledjob/metrics.ts';
import { jobCount, resolveStrategy } from './scaledjob/strategy.ts';
import { afterDeletions, countJobs, historyDeletions, rolloutDeletions } from './scaledjob/jobs.ts';
import { jobManifest } from './scaledjob/manifest.ts';
import type { ScaledJobDecideInput, ScaledJobDecision, ScaledJobSpec, ScaledJobStatus } from './scaledjob/types.ts';

export type * from './scaledjob/types.ts';

/** KEDA reads only autoscaling.keda.sh/paused on a ScaledJob (paused-replicas has no meaning there) */
export function scaledJobPaused(annotations: Record<string, string>): boolean {
  return annotationIsTrue(annotations, PAUSED_ANNOTATION);
}

interface PassContext {
  /** this pass's time, whole seconds */
  now: number;
  /** this ScaledJob's previous evaluation (ms), when the shard has a record */
  previousEvaluation: number | undefined;
  previous: ScaledJobStatus;
  base: ScaledJobStatus;
  conditions: Condition[];
  events: DecisionEvent[];
}

export function decideScaledJob(input: ScaledJobDecideInput): ScaledJobDecision {
  const previous = input.status ?? {};
  const ctx: PassContext = {
    now: wholeSeconds(input.now),
    previousEvaluation: input.previousEvaluation,
    previous,
    base: { ...previous, ...typesFromSpec(input.spec) },
    conditions: initializeConditions(previous.conditions),
    events: [],
  };

  if (scaledJobPaused(input.annotations ?? {})) return paused(ctx);
  if (isTrue(previous.conditions, 'Paused')) {
    ctx.conditions = setCondition(ctx.conditions, PAUSED_FALSE);
    ctx.events.push(SCALED_JOB_UNPAUSED);
  }

  const problem = checkSpec(input.spec);
  if (problem) return checkFailed(ctx, problem);
  return scalingPass(ctx, input, resolveJobSpec(input.spec));
}

/**
 * A ScaledJob whose spec the caller could not even read (it fails the CRD's schema, e.g. under an
 * older CRD): KEDA's check failure, Ready=False with `message`, Active Unknown, a Warning once per
 * distinct message; nothing measured, created or deleted. The rest of the status is kept as it was.
 */
export function decideInvalidScaledJob(status: ScaledJobStatus | undefined, message: string, now: number, previousEvaluation?: number): ScaledJobDecision {
  const previous = status ?? {};
  return checkFailed({ now: wholeSeconds(now), previousEvaluation, previous, base: { ...previous }, conditions: initializeConditions(previous.conditions), events: [] }, message);
}

/** KEDA stops the scale loop: no Jobs created, none cleaned up, no rollout; Active stays as it was */
function paused(ctx: PassContext): ScaledJobDecision {
  if (!isTrue(ctx.previous.conditions, 'Paused')) ctx.events.push(SCALED_JOB_PAUSED);
  ctx.conditions = setCondition(ctx.conditions, PAUSED_TRUE);
  noteReadyAgain(ctx);
  ctx.conditions = setCondition(ctx.conditions, READY_PAUSED);
  return finish(ctx, idle(`paused by ${PAUSED_ANNOTATION}: no Jobs created or deleted`, true));
}

/** What KEDA's reconcile refuses, in its '<step>: <error>' form (KEDA's ScaledJob shows only the step). */
function checkSpec(spec: ScaledJobSpec): string | undefined {
  const triggers = checkTriggers(spec.triggers);
  if (triggers) return `ScaledJob doesn't have correct triggers specification: ${triggers}`;
  const typed = spec.triggers.findIndex((t) => Boolean(t.metricType));
  if (typed >= 0) return `Cannot set metricType in ScaledJob triggers: spec.triggers[${typed}].metricType is set`;
  return undefined;
}

function checkFailed(ctx: PassContext, message: string): ScaledJobDecision {
  const before = findCondition(ctx.previous.conditions, 'Ready');
  // KEDA reports a failed reconcile each time it reconciles, i.e. when the spec changed: here once per distinct failure
  if (before?.reason !== CHECK_FAILED_REASON || before.message !== message) ctx.events.push(scaledJobCheckFailed(message));
  ctx.conditions = setCondition(ctx.conditions, readyCheckFailed(message));
  ctx.conditions = setCondition(ctx.conditions, ACTIVE_UNKNOWN);
  return finish(ctx, idle(`not scaling: ${message}`, false));
}

/** KEDA announces readiness when a reconcile succeeds on a ScaledJob that was not ready: first, or after a failed check */
function noteReadyAgain(ctx: PassContext): void {
  const ready = findCondition(ctx.previous.conditions, 'Ready');
  if (ready === undefined || ready.reason === undefined || ready.reason === CHECK_FAILED_REASON) ctx.events.push(SCALED_JOB_READY);
}

function scalingPass(ctx: PassContext, input: ScaledJobDecideInput, spec: ResolvedJobSpec): ScaledJobDecision {
  const { previous } = ctx;
  const reasons: string[] = [];

  const rollout = rolloutDeletions(input.jobs, input.generation, spec.rolloutStrategy, spec.propagationPolicy);
  if (rollout.length > 0) {
    ctx.events.push(rolloutCleanupStarted(rollout.length), rolloutCleanupCompleted(rollout.length));
    reasons.push(`rollout (${spec.rolloutStrategy}, from ${spec.rolloutFrom}): deleting ${rollout.length} Jobs of other generations than ${input.generation}`);
  }
  noteReadyAgain(ctx);
  const jobs = afterDeletions(input.jobs, rollout);

  const combined = combineTriggers(input.measurements, input.spec.scalingStrategy?.multipleScalersCalculation, spec.minReplicaCount, spec.maxReplicaCount);
  for (const m of [...input.measurements].sort((a, b) => a.index - b.index)) {
    if (m.error !== undefined) ctx.events.push(scalerFailed(`${m.metricName}: ${m.error}`));
  }
  const counts = countJobs(jobs, spec.pendingPodConditions);
  const count = jobCount({
    strategy: resolveStrategy(input.spec.scalingStrategy),
    minReplicaCount: spec.minReplicaCount,
    room: spec.maxReplicaCount,
    running: counts.running,
    pending: counts.pending,
    scaleTo: combined.scaleTo,
    maxScale: combined.maxScale,
    active: combined.active,
  });
  reasons.push(`${combined.why}; running ${counts.running}, pending ${counts.pending}; ${count.why}`);
  if (count.jobsToCreate > 0) ctx.events.push(jobsCreated(count.jobsToCreate));

  let ready = READY_OK;
  if (combined.error) ready = combined.active ? READY_PARTIAL_TRIGGER_ERROR : READY_TRIGGER_ERROR;
  ctx.conditions = setCondition(ctx.conditions, ready);
  const wasActive = isTrue(previous.conditions, 'Active');
  if (combined.active && !wasActive) ctx.events.push(SCALED_JOB_ACTIVE);
  if (!combined.active && wasActive) ctx.events.push(SCALED_JOB_INACTIVE);
  ctx.conditions = setCondition(ctx.conditions, combined.active ? ACTIVE_TRUE : ACTIVE_FALSE);

  const history = historyDeletions(jobs, spec.successfulJobsHistoryLimit, spec.failedJobsHistoryLimit);
  if (history.length > 0) reasons.push(`history: deleting ${history.length} finished Jobs beyond the limits (${spec.successfulJobsHistoryLimit} successful, ${spec.failedJobsHistoryLimit} failed)`);

  const active = new Set(combined.activeMetricNames);
  return finish(ctx, {
    jobsToCreate: count.jobsToCreate,
    job: jobManifest({ ...input, labels: input.labels ?? {}, annotations: input.annotations ?? {}, jobTargetRef: input.spec.jobTargetRef }),
    deletions: [...rollout, ...history],
    reason: reasons.join('; '),
    active: combined.active,
    paused: false,
    running: counts.running,
    pending: counts.pending,
    stamps: combined.active,
    status: {
      // KEDA keeps this list only in memory for a ScaledJob; written here, it says what triggersActivity is keyed by
      externalMetricNames: combined.metricNames,
      triggersActivity: Object.fromEntries(combined.metricNames.map((name) => [name, { isActive: active.has(name) }])),
    },
    metricValues: Object.fromEntries(
      input.measurements.flatMap((m) => (m.error === undefined && m.value !== undefined ? [[m.metricName, m.value] as const] : [])),
    ),
  });
}

/**
 * KEDA stamps lastActiveTime on every poll that finds a trigger active (errors or not; a paused
 * ScaledJob is not polled). Nothing reads it for a ScaledJob, but the value is KEDA's: carried as
 * ../last-active.ts explains, so a busy ScaledJob costs no status write per pass.
 */
function carriedLastActive(ctx: PassContext, stampsNow: boolean): string | undefined {
  const { previous, now, previousEvaluation } = ctx;
  const stampedBefore = isTrue(previous.conditions, 'Active') && !isTrue(previous.conditions, 'Paused');
  return lastActiveTime({ stored: previous.lastActiveTime, stampedBefore, stampsNow, now, previousEvaluation });
}

type Outcome = Omit<ScaledJobDecision, 'events' | 'status'> & { status: ScaledJobStatus; stamps?: boolean };

function idle(reason: string, isPaused: boolean): Outcome {
  return { jobsToCreate: 0, job: undefined, deletions: [], reason, active: false, paused: isPaused, running: 0, pending: 0, status: {}, metricValues: {} };
}

function finish(ctx: PassContext, { stamps, ...outcome }: Outcome): ScaledJobDecision {
  return {
    ...outcome,
    status: canonical({ ...ctx.base, lastActiveTime: carriedLastActive(ctx, stamps ?? false), ...outcome.status, conditions: ctx.conditions }),
    events: ctx.events,
  };
}
