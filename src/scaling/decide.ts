// One pass for one ScaledObject: KEDA's scale loop and the HPA it would create, folded into a single
// decision. Pure: everything it knows comes in through DecideInput, including the time.
//
// Order, as KEDA applies it: full pause (paused-replicas, paused) -> direction pauses and unpause ->
// spec checks -> fallback and activity -> KEDA's own move (activation, cooldown deactivation, repair)
// -> otherwise, while the target has replicas above its resting size, the replica formula.

import type { Condition, DecideInput, Decision, DecisionEvent, ScaledObjectStatus } from './types.ts';
import type { AnnotationState, FullPause } from './annotations.ts';
import { PAUSED_ANNOTATION, PAUSED_REPLICAS_ANNOTATION, readAnnotations } from './annotations.ts';
import type { ResolvedSpec } from './defaults.ts';
import { atRest, resolveSpec } from './defaults.ts';
import {
  ACTIVE_UNKNOWN,
  CHECK_FAILED_REASON,
  FALLBACK_FALSE,
  FALLBACK_TRUE,
  PAUSED_REMOVED,
  PAUSED_TRUE,
  READY_OK,
  READY_PARTIAL_TRIGGER_ERROR,
  READY_PAUSED,
  findCondition,
  initializeConditions,
  isTrue,
  readyCheckFailed,
  setCondition,
} from './conditions.ts';
import {
  FALLBACK_ACTIVATED,
  FALLBACK_DEACTIVATED,
  SCALED_OBJECT_PAUSED,
  SCALED_OBJECT_READY,
  SCALED_OBJECT_UNPAUSED,
  formulaFailedEvent,
  metricSourceFailed,
  scaledObjectCheckFailed,
  scalerFailed,
  successfulRescale,
} from './events.ts';
import type { TriggerReading } from './fallback.ts';
import { applyFallback, fallbackIsValid } from './fallback.ts';
import type { Activity } from './activation.ts';
import { kedaStep, objectActivity } from './activation.ts';
import type { CompositeOutcome, Modifiers } from './modifiers.ts';
import { COMPOSITE_METRIC, compositeActivity, compositeStep, parseModifiers } from './modifiers.ts';
import { effectiveBehavior, pruneScaleEvents } from './behavior.ts';
import { hpaSync } from './hpa.ts';
import { catchUp, replicaIndependent, syncInstants } from './hpa-catch-up.ts';
import { checkSpec } from './validation.ts';
import { canonical, isResourceTrigger, metricNamesFromMeasurements, typesFromSpec } from './status.ts';
import { parseTime, wholeSeconds } from './time.ts';
import { lastActiveTime } from './last-active.ts';

interface PassContext {
  input: DecideInput;
  /** this pass's time, whole seconds: the times the decision writes */
  now: number;
  spec: ResolvedSpec;
  annotations: AnnotationState;
  previous: ScaledObjectStatus;
  /** status fields every outcome writes */
  base: ScaledObjectStatus;
  conditions: Condition[];
  events: DecisionEvent[];
}

export function decide(input: DecideInput): Decision {
  const previous = input.status ?? {};
  const ctx: PassContext = {
    input,
    now: wholeSeconds(input.now),
    spec: resolveSpec(input.spec),
    annotations: readAnnotations(input.annotations ?? {}),
    previous,
    base: {
      ...previous,
      scaleTargetKind: input.target.kind,
      // captured once, for restoreToOriginalReplicaCount on deletion
      originalReplicaCount: previous.originalReplicaCount ?? input.target.specReplicas,
      ...typesFromSpec(input.spec),
    },
    conditions: initializeConditions(previous.conditions),
    events: [],
  };

  if (ctx.annotations.fullPause) return fullyPaused(ctx, ctx.annotations.fullPause);
  applyDirectionPauses(ctx);

  const problem = checkSpec(input.spec, ctx.spec, input.target.podTemplate);
  if (problem) return checkFailed(ctx, problem, input.target.specReplicas, `not scaling: ${problem}`);

  noteReadyAgain(ctx);
  return scalingPass(ctx);
}

/** KEDA stops the loop and deletes its HPA; only the pause itself is applied. */
function fullyPaused(ctx: PassContext, pause: FullPause): Decision {
  const cur = ctx.input.target.specReplicas;
  setPaused(ctx, true);
  if (pause.kind === 'invalid') {
    const message = `${PAUSED_REPLICAS_ANNOTATION} must be a non-negative integer, got "${pause.value}"`;
    return checkFailed(ctx, message, cur, `paused, not scaling: ${message}`);
  }
  noteReadyAgain(ctx);
  ctx.conditions = setCondition(ctx.conditions, READY_PAUSED);
  keepFallbackConditionHonest(ctx);
  const replicas = pause.kind === 'replicas' ? pause.replicas : cur;
  const reason =
    pause.kind === 'replicas'
      ? `paused by ${PAUSED_REPLICAS_ANNOTATION}: ${cur === replicas ? 'staying at' : `${cur} ->`} ${replicas}`
      : `paused by ${PAUSED_ANNOTATION}: staying at ${cur}`;
  return finish(ctx, {
    replicas,
    reason,
    active: false,
    status: {
      pausedReplicaCount: pause.kind === 'replicas' ? pause.replicas : undefined,
      // the HPA is gone, and its memory with it
      recommendations: undefined,
      scaleEvents: undefined,
    },
    metricValues: {},
  });
}

/** paused-scale-in/out keep the loop running but show Paused=True; removing every pause unpauses. */
function applyDirectionPauses(ctx: PassContext): void {
  const { pausedScaleIn, pausedScaleOut } = ctx.annotations;
  if (pausedScaleIn || pausedScaleOut) setPaused(ctx, true);
  else if (isTrue(ctx.previous.conditions, 'Paused')) setPaused(ctx, false);
}

function setPaused(ctx: PassContext, paused: boolean): void {
  const was = isTrue(ctx.previous.conditions, 'Paused');
  if (paused) {
    ctx.conditions = setCondition(ctx.conditions, PAUSED_TRUE);
    if (!was) ctx.events.push(SCALED_OBJECT_PAUSED);
  } else if (was) {
    ctx.conditions = setCondition(ctx.conditions, PAUSED_REMOVED);
    ctx.events.push(SCALED_OBJECT_UNPAUSED);
  }
}

/** KEDA announces readiness when a reconcile succeeds after the first one or after a failed check. */
function noteReadyAgain(ctx: PassContext): void {
  const ready = findCondition(ctx.previous.conditions, 'Ready');
  if (ready === undefined || ready.reason === undefined || ready.reason === CHECK_FAILED_REASON) {
    ctx.events.push(SCALED_OBJECT_READY);
  }
}

/** Without a valid fallback block KEDA's reconcile keeps the Fallback condition at False. */
function keepFallbackConditionHonest(ctx: PassContext): void {
  if (!fallbackIsValid(ctx.input.spec.fallback)) ctx.conditions = setCondition(ctx.conditions, FALLBACK_FALSE);
}

function checkFailed(ctx: PassContext, message: string, replicas: number, reason: string): Decision {
  const before = findCondition(ctx.previous.conditions, 'Ready');
  if (before?.reason !== CHECK_FAILED_REASON || before.message !== message) {
    ctx.events.push(scaledObjectCheckFailed(message));
  }
  ctx.conditions = setCondition(ctx.conditions, readyCheckFailed(message));
  ctx.conditions = setCondition(ctx.conditions, ACTIVE_UNKNOWN);
  keepFallbackConditionHonest(ctx);
  return finish(ctx, {
    replicas,
    reason,
    active: false,
    status: { pausedReplicaCount: undefined, recommendations: undefined, scaleEvents: undefined },
    metricValues: {},
  });
}

function scalingPass(ctx: PassContext): Decision {
  const { input, spec, annotations, previous, now } = ctx;
  const target = input.target;
  const cur = target.specReplicas;

  const parsed = parseModifiers(input.spec);
  const modifiers: Modifiers | undefined = parsed !== undefined && 'modifiers' in parsed ? parsed.modifiers : undefined;
  const fallback = applyFallback(
    input.measurements, input.spec.fallback, previous.health, cur, target.readyReplicas,
    modifiers && { target: modifiers.target, metricType: modifiers.metricType, usable: modifiers.fallbackUsable },
  );
  reportFailuresAndFallback(ctx, fallback.fallbackActive, modifiers !== undefined);
  // with a formula the HPA sees the composite metric (and cpu/memory beside it), not the triggers
  let composite: CompositeOutcome | undefined;
  let hpaMetrics: readonly TriggerReading[] = fallback.readings;
  let activity: Activity;
  if (modifiers !== undefined) {
    composite = compositeStep(fallback.readings, modifiers, input.spec.fallback);
    if (composite.formulaError !== undefined) return formulaFailed(ctx, composite.formulaError, fallback.readings, fallback.health);
    hpaMetrics = [...fallback.readings.filter((r) => isResourceTrigger(r.type)), composite.reading];
    activity = compositeActivity(fallback.readings, composite, annotations.forceActivation);
  } else {
    activity = objectActivity(fallback.readings, annotations.forceActivation);
  }
  const activeNow = activity.active || activity.forced;

  const step = kedaStep({
    currentReplicas: cur,
    spec,
    fallback: input.spec.fallback,
    activity,
    pausedScaleIn: annotations.pausedScaleIn,
    pausedScaleOut: annotations.pausedScaleOut,
    // read only when inactive, when this pass does not stamp it
    lastActiveMs: parseTime(carriedLastActive(ctx, false)),
    creationMs: parseTime(input.creationTimestamp),
    target,
    now: input.now,
  });
  ctx.conditions = setCondition(ctx.conditions, step.ready ?? READY_OK);
  ctx.conditions = setCondition(ctx.conditions, step.active);
  if (step.event) ctx.events.push(step.event);

  const behavior = effectiveBehavior(
    input.spec.advanced?.horizontalPodAutoscalerConfig?.behavior,
    annotations.pausedScaleIn,
    annotations.pausedScaleOut,
  );
  let replicas = cur;
  let recommendations = previous.recommendations;
  let scaleEvents = pruneScaleEvents(previous.scaleEvents, behavior, now);
  const reasons: string[] = [];
  const hpaInput = {
    specReplicas: cur,
    statusReplicas: target.statusReplicas,
    readyReplicas: target.readyReplicas,
    minReplicas: spec.hpaMinReplicas,
    maxReplicas: spec.maxReplicaCount,
    metrics: hpaMetrics,
    behavior,
    recommendations: previous.recommendations,
    scaleEvents: previous.scaleEvents,
  };
  if (step.replicas !== undefined) {
    replicas = step.replicas;
    reasons.push(step.reason);
    // the HPA's first sync after an activation, pulled forward to it: only for metrics whose
    // proposal does not depend on the pods that do not exist yet
    if (input.hpaCatchUp && atRest(cur, spec) && !atRest(replicas, spec) && replicaIndependent(hpaMetrics)) {
      const hpa = catchUp({ ...hpaInput, specReplicas: replicas }, [now]);
      if (hpa.replicas !== replicas) {
        replicas = hpa.replicas;
        recommendations = hpa.recommendations;
        scaleEvents = hpa.scaleEvents;
        reasons.push(`the HPA's first sync after it: ${hpa.reason}`);
        ctx.events.push(successfulRescale(replicas, hpa.rescaleReason ?? ''));
      }
    }
  } else if (!atRest(cur, spec)) {
    const hpa = input.hpaCatchUp ? catchUp(hpaInput, syncInstants(input.previousEvaluation, now)) : hpaSync({ ...hpaInput, now });
    replicas = hpa.replicas;
    recommendations = hpa.recommendations;
    scaleEvents = hpa.scaleEvents;
    reasons.push(hpa.reason, step.reason);
    if (hpa.rescaleReason) ctx.events.push(successfulRescale(replicas, hpa.rescaleReason));
  } else {
    reasons.push(step.reason);
  }
  // the formula's history ends when the target goes to rest (see stabilization.ts)
  if (atRest(replicas, spec)) recommendations = undefined;
  if (composite) reasons.push(composite.why);
  for (const r of fallback.readings) {
    if (r.fallback) reasons.push(`fallback stands in for ${r.metricName}: ${r.fallbackWhy ?? ''}`);
    if (r.nil) reasons.push(`${r.metricName} failed past failureThreshold: ${r.fallbackWhy ?? ''}`);
  }

  const names = metricNamesFromMeasurements(input.measurements);
  return finish(ctx, {
    replicas,
    reason: reasons.filter((r) => r !== '').join('; '),
    active: activeNow,
    stamps: step.stamps,
    status: {
      externalMetricNames: names.externalMetricNames,
      resourceMetricNames: names.resourceMetricNames,
      health: fallback.health,
      triggersActivity: triggersActivity(fallback.readings, modifiers !== undefined),
      compositeScalerName: modifiers ? COMPOSITE_METRIC : undefined,
      pausedReplicaCount: undefined,
      recommendations,
      scaleEvents,
    },
    metricValues: Object.fromEntries(
      fallback.readings.flatMap((r) => (r.value !== undefined ? [[r.metricName, r.value] as const] : [])),
    ),
    ...(composite ? { composite: { value: composite.value, active: composite.active, target: modifiers!.target } } : {}),
  });
}

export const FORMULA_FAILED_REASON = 'ScalingModifiersFormulaFailed';

/**
 * The formula could not give a number this pass (a run-time error, x / 0, nil without a fallback).
 * KEDA logs it and hands the HPA the raw trigger values instead; scalepass does not scale on a value
 * nobody asked for: the replicas stay, Ready=False says why, and the history the next pass reasons
 * from is kept. Trigger health is still counted, so a fallback can engage.
 */
function formulaFailed(
  ctx: PassContext,
  message: string,
  readings: readonly TriggerReading[],
  health: ScaledObjectStatus['health'],
): Decision {
  const { previous, input } = ctx;
  const cur = input.target.specReplicas;
  const before = findCondition(previous.conditions, 'Ready');
  if (before?.reason !== FORMULA_FAILED_REASON || before.message !== message) ctx.events.push(formulaFailedEvent(message));
  ctx.conditions = setCondition(ctx.conditions, { type: 'Ready', status: 'False', reason: FORMULA_FAILED_REASON, message });
  ctx.conditions = setCondition(ctx.conditions, {
    type: 'Active', status: 'Unknown', reason: 'UnknownState', message: 'the scalingModifiers formula could not be evaluated',
  });
  const names = metricNamesFromMeasurements(input.measurements);
  return finish(ctx, {
    replicas: cur,
    reason: `not scaling, keeping ${cur}: ${message}`,
    active: false,
    status: {
      externalMetricNames: names.externalMetricNames,
      resourceMetricNames: names.resourceMetricNames,
      // activity is unknown from here: if it was active until now, cooldown counts from the previous pass
      lastActiveTime: carriedLastActive(ctx, false),
      health,
      triggersActivity: triggersActivity(readings, true),
      compositeScalerName: COMPOSITE_METRIC,
      pausedReplicaCount: undefined,
    },
    metricValues: Object.fromEntries(readings.flatMap((r) => (r.value !== undefined ? [[r.metricName, r.value] as const] : []))),
  });
}

/** Every failed read is reported, also one a fallback value stands in for (as KEDA does); a formula's sources as KEDAMetricSourceFailed. */
function reportFailuresAndFallback(ctx: PassContext, fallbackActive: boolean, metricSources: boolean): void {
  for (const m of [...ctx.input.measurements].sort((a, b) => a.index - b.index)) {
    if (m.error === undefined) continue;
    const text = `${m.metricName}: ${m.error}`;
    ctx.events.push(metricSources && !isResourceTrigger(m.type) ? metricSourceFailed(text) : scalerFailed(text));
  }
  ctx.conditions = setCondition(ctx.conditions, fallbackActive ? FALLBACK_TRUE : FALLBACK_FALSE);
  const was = isTrue(ctx.previous.conditions, 'Fallback');
  if (fallbackActive && !was) ctx.events.push(FALLBACK_ACTIVATED);
  if (!fallbackActive && was) ctx.events.push(FALLBACK_DEACTIVATED);
}

/**
 * KEDA stamps lastActiveTime on every active poll; here that would be a status write every pass for
 * every busy object, so it is carried as last-active.ts explains: written when the stamping ends, as
 * the time of this object's previous evaluation. The status the previous pass left shows whether that
 * evaluation stamped: active, every trigger read (PartialTriggerError is KEDA's no-stamp case), and
 * not fully paused (KEDA's loop does not run).
 */
function carriedLastActive(ctx: PassContext, stampsNow: boolean): string | undefined {
  const { previous, now, input } = ctx;
  const ready = findCondition(previous.conditions, 'Ready');
  const stampedBefore =
    isTrue(previous.conditions, 'Active') &&
    ready?.reason !== READY_PARTIAL_TRIGGER_ERROR.reason &&
    !(ready?.reason === READY_PAUSED.reason && ready?.message === READY_PAUSED.message);
  return lastActiveTime({ stored: previous.lastActiveTime, stampedBefore, stampsNow, now, previousEvaluation: input.previousEvaluation });
}

/** With a formula KEDA's active list holds only composite-metric, so every trigger's entry reads false. */
function triggersActivity(readings: readonly TriggerReading[], formula: boolean): Record<string, { isActive: boolean }> {
  return Object.fromEntries(
    readings.filter((r) => !isResourceTrigger(r.type)).map((r) => [r.metricName, { isActive: !formula && r.active }]),
  );
}

interface Outcome {
  replicas: number;
  reason: string;
  active: boolean;
  /** KEDA's poll would stamp lastActiveTime (only a scaling pass can) */
  stamps?: boolean;
  /** fields this outcome sets; an explicit undefined removes the field */
  status: ScaledObjectStatus;
  metricValues: Record<string, number>;
  composite?: Decision['composite'];
}

function finish(ctx: PassContext, outcome: Outcome): Decision {
  const lastActive = carriedLastActive(ctx, outcome.stamps ?? false);
  const status = canonical({ ...ctx.base, lastActiveTime: lastActive, ...outcome.status, conditions: ctx.conditions });
  return {
    replicas: outcome.replicas,
    reason: outcome.reason,
    active: outcome.active,
    // like KEDA's paused metric: any pause, including one direction
    paused: isTrue(ctx.conditions, 'Paused'),
    status,
    events: ctx.events,
    metricValues: outcome.metricValues,
    ...(outcome.composite ? { composite: outcome.composite } : {}),
  };
}
