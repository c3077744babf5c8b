// KEDA's own scale loop (executor RequestScale): whether the object is active, and the moves KEDA
// makes itself: 0/idle -> min on activation, -> 0/idle after cooldown, and the repair up to min.
// Everything between the floor and max belongs to the replica formula (hpa.ts).

import type { Condition, DecisionEvent, ScaledObjectSpec, TargetState } from './types.ts';
import type { TriggerReading } from './fallback.ts';
import type { ResolvedSpec } from './defaults.ts';
import {
  ACTIVE_COOLDOWN,
  ACTIVE_FALSE,
  ACTIVE_FORCED,
  ACTIVE_TRUE,
  READY_PARTIAL_TRIGGER_ERROR,
  READY_TRIGGER_ERROR,
} from './conditions.ts';
import { scaleTargetActivated, scaleTargetDeactivated } from './events.ts';
import { FORCE_ACTIVATION_ANNOTATION, PAUSED_SCALE_IN_ANNOTATION, PAUSED_SCALE_OUT_ANNOTATION } from './annotations.ts';
import { formatTime, secondsUntil } from './time.ts';
import { isResourceTrigger } from './status.ts';

export interface Activity {
  /** some trigger is active (a fallback value counts as active) */
  active: boolean;
  forced: boolean;
  /** some trigger failed and no fallback value replaced it */
  isError: boolean;
  activeMetricNames: string[];
}

export function objectActivity(readings: readonly TriggerReading[], forced: boolean): Activity {
  const activeMetricNames = readings.filter((r) => r.active).map((r) => r.metricName);
  const isError = readings.some((r) => r.error !== undefined);
  // cpu/memory never report activity; an object that has only those is active unless a trigger failed
  // (a configuration KEDA refuses: a metrics.k8s.io read failure fails only the replica formula)
  const onlyResource = readings.length > 0 && readings.every((r) => isResourceTrigger(r.type));
  return {
    active: activeMetricNames.length > 0 || (onlyResource && !isError),
    forced,
    isError,
    activeMetricNames,
  };
}

export type Cooldown = { elapsed: true; why: string } | { elapsed: false; why: string };

/**
 * Both tests are strict: exactly at the deadline the cooldown has not elapsed yet. `now` is the pass's
 * time to the millisecond, as KEDA compares the stored (whole-second) time with time.Now().
 */
export function cooldownVerdict(args: {
  lastActiveMs: number | undefined;
  creationMs: number | undefined;
  cooldownS: number;
  initialCooldownS: number;
  now: number;
}): Cooldown {
  const { lastActiveMs, creationMs, cooldownS, initialCooldownS, now } = args;
  if (lastActiveMs === undefined) {
    if (creationMs === undefined) return { elapsed: false, why: 'never active and creation time unknown' };
    const deadline = creationMs + initialCooldownS * 1000;
    if (deadline < now) return { elapsed: true, why: `never active, initialCooldownPeriod ${initialCooldownS}s elapsed` };
    return {
      elapsed: false,
      why: `initial cooldown: created ${formatTime(creationMs)}, ${secondsUntil(deadline, now)}s left`,
    };
  }
  const deadline = lastActiveMs + cooldownS * 1000;
  if (deadline < now) return { elapsed: true, why: `inactive since ${formatTime(lastActiveMs)}, cooldown ${cooldownS}s elapsed` };
  return {
    elapsed: false,
    why: `cooldown: inactive since ${formatTime(lastActiveMs)}, ${secondsUntil(deadline, now)}s left`,
  };
}

export interface KedaStepInput {
  currentReplicas: number;
  spec: ResolvedSpec;
  fallback: ScaledObjectSpec['fallback'];
  activity: Activity;
  pausedScaleIn: boolean;
  pausedScaleOut: boolean;
  /** the lastActiveTime an inactive pass counts the cooldown from */
  lastActiveMs: number | undefined;
  creationMs: number | undefined;
  target: TargetState;
  /** this pass's time (ms) */
  now: number;
}

export interface KedaStep {
  /** set when KEDA's loop moves the target itself */
  replicas?: number;
  reason: string;
  active: Condition;
  /** replaces Ready=True for this pass */
  ready?: Condition;
  /** KEDA's poll would stamp lastActiveTime with its time: it activated the target, or found it above 0 with no failed trigger */
  stamps: boolean;
  event?: DecisionEvent;
}

export function kedaStep(input: KedaStepInput): KedaStep {
  return input.activity.active || input.activity.forced ? whenActive(input) : whenInactive(input);
}

function whenActive(input: KedaStepInput): KedaStep {
  const { currentReplicas: cur, spec, activity, target } = input;
  const active = activity.forced ? ACTIVE_FORCED : ACTIVE_TRUE;
  const cause = activity.forced
    ? `activation forced by ${FORCE_ACTIVATION_ANNOTATION}`
    : `${activity.activeMetricNames.join(', ')} active`;
  const belowMinWithIdle = spec.idleReplicaCount !== undefined && cur < spec.minReplicaCount;
  if (cur === 0 || belowMinWithIdle) {
    if (input.pausedScaleOut) {
      return { active, stamps: false, reason: `${cause}, but scale-out is paused by ${PAUSED_SCALE_OUT_ANNOTATION}: staying at ${cur}` };
    }
    const to = Math.max(spec.minReplicaCount, 1);
    return {
      replicas: to,
      active,
      reason: `activated ${cur} -> ${to}: ${cause}`,
      stamps: true,
      event: scaleTargetActivated(target, cur, to, activity.activeMetricNames, activity.forced),
    };
  }
  // the replica formula decides from here, and its reason says what the metrics asked for
  if (activity.isError) return { active, stamps: false, ready: READY_PARTIAL_TRIGGER_ERROR, reason: '' };
  return { active, stamps: true, reason: '' };
}

function whenInactive(input: KedaStepInput): KedaStep {
  const { currentReplicas: cur, spec, activity, fallback, target, now } = input;
  const idle = spec.idleReplicaCount;
  const min = spec.minReplicaCount;
  if (activity.isError && fallback !== undefined && fallback.replicas !== 0) {
    // scaling to 0 would switch off the replica formula that serves the fallback
    return { active: ACTIVE_FALSE, stamps: false, reason: 'not active and a trigger failed: waiting for fallback, no scale-in' };
  }
  if (activity.isError && fallback === undefined) {
    return { active: ACTIVE_FALSE, stamps: false, ready: READY_TRIGGER_ERROR, reason: 'not active and a trigger failed: no scale-in' };
  }
  // Reached with an error only when fallback.replicas is 0: KEDA then scales in like any inactive object.
  if ((idle !== undefined && cur > idle) || (cur > 0 && min === 0)) {
    if (input.pausedScaleIn) {
      return { active: ACTIVE_FALSE, stamps: false, reason: `not active, but scale-in is paused by ${PAUSED_SCALE_IN_ANNOTATION}` };
    }
    const cooldown = cooldownVerdict({
      lastActiveMs: input.lastActiveMs,
      creationMs: input.creationMs,
      cooldownS: spec.cooldownPeriodS,
      initialCooldownS: spec.initialCooldownPeriodS,
      now,
    });
    if (!cooldown.elapsed) return { active: ACTIVE_COOLDOWN, stamps: false, reason: cooldown.why };
    const to = idle ?? min;
    return {
      replicas: to,
      active: ACTIVE_FALSE,
      stamps: false,
      reason: `deactivated ${cur} -> ${to}: ${cooldown.why}`,
      event: scaleTargetDeactivated(target, cur, to),
    };
  }
  if (idle === undefined && cur < min) {
    return { replicas: min, active: ACTIVE_FALSE, stamps: false, reason: `not active; raised ${cur} -> ${min} to minReplicaCount` };
  }
  return { active: ACTIVE_FALSE, stamps: false, reason: 'not active' };
}
