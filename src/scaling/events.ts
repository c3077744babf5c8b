// KEDA's event reasons and texts for the ScaledObject, plus the HPA's rescale event, which has no HPA
// object to live on here and so is reported on the ScaledObject.

import type { DecisionEvent, TargetState } from './types.ts';

function targetText(target: TargetState): string {
  return `${target.kind} ${target.namespace}/${target.name}`;
}

export function scaleTargetActivated(
  target: TargetState,
  from: number,
  to: number,
  activeMetricNames: readonly string[],
  forced: boolean,
): DecisionEvent {
  const cause = forced ? 'caused by forced activation annotation' : `triggered by ${activeMetricNames.join(';')}`;
  return {
    type: 'Normal',
    reason: 'KEDAScaleTargetActivated',
    message: `Scaled ${targetText(target)} from ${from} to ${to}, ${cause}`,
  };
}

export function scaleTargetDeactivated(target: TargetState, from: number, to: number): DecisionEvent {
  return {
    type: 'Normal',
    reason: 'KEDAScaleTargetDeactivated',
    message: `Deactivated ${targetText(target)} from ${from} to ${to}`,
  };
}

/** what the caller reports instead of an activation when the /scale update failed */
export function scaleTargetActivationFailed(target: TargetState, from: number, to: number): DecisionEvent {
  return {
    type: 'Warning',
    reason: 'KEDAScaleTargetActivationFailed',
    message: `Failed to scale ${targetText(target)} from ${from} to ${to}`,
  };
}

/** what the caller reports instead of a deactivation when the /scale update failed */
export function scaleTargetDeactivationFailed(target: TargetState, from: number, to: number): DecisionEvent {
  return {
    type: 'Warning',
    reason: 'KEDAScaleTargetDeactivationFailed',
    message: `Failed to deactivate ${targetText(target)} from ${from} to ${to}`,
  };
}

export const SCALED_OBJECT_READY: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledObjectReady',
  message: 'ScaledObject is ready for scaling',
};

export function scaledObjectCheckFailed(message: string): DecisionEvent {
  return { type: 'Warning', reason: 'ScaledObjectCheckFailed', message };
}

export const SCALED_OBJECT_PAUSED: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledObjectPaused',
  message: 'ScaledObject is paused',
};

export const SCALED_OBJECT_UNPAUSED: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledObjectUnpaused',
  message: 'pause annotation removed for ScaledObject',
};

export const FALLBACK_ACTIVATED: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledObjectFallbackActivated',
  message: 'ScaledObject fallback is active',
};

export const FALLBACK_DEACTIVATED: DecisionEvent = {
  type: 'Normal',
  reason: 'ScaledObjectFallbackDeactivated',
  message: 'ScaledObject fallback is no longer active',
};

export function scalerFailed(message: string): DecisionEvent {
  return { type: 'Warning', reason: 'KEDAScalerFailed', message };
}

/** KEDA's event for a failed trigger of an object with a scalingModifiers formula */
export function metricSourceFailed(message: string): DecisionEvent {
  return { type: 'Warning', reason: 'KEDAMetricSourceFailed', message };
}

/** scalepass's own: the formula gave no number, nothing was scaled (KEDA only logs it) */
export function formulaFailedEvent(message: string): DecisionEvent {
  return { type: 'Warning', reason: 'ScalingModifiersFormulaFailed', message };
}

/** the HPA's own event text: 'New size: 5; reason: external metric s0-x above target' */
export function successfulRescale(newSize: number, reason: string): DecisionEvent {
  return { type: 'Normal', reason: 'SuccessfulRescale', message: `New size: ${newSize}; reason: ${reason}` };
}

/**
 * The decision's events once its /scale write failed: the events that report the change (KEDA's
 * activation/deactivation, the HPA's SuccessfulRescale) did not happen, so each becomes the failure its
 * author reports instead (KEDA's *Failed, the HPA's FailedRescale); the other events stand.
 */
export function eventsAfterFailedScale(events: readonly DecisionEvent[], target: TargetState, from: number, to: number, error: string): DecisionEvent[] {
  const out: DecisionEvent[] = [];
  let reported = false;
  for (const ev of events) {
    if (ev.reason === 'KEDAScaleTargetActivated' || ev.reason === 'KEDAScaleTargetDeactivated') {
      const failed = ev.reason === 'KEDAScaleTargetActivated' ? scaleTargetActivationFailed(target, from, to) : scaleTargetDeactivationFailed(target, from, to);
      out.push({ ...failed, message: `${failed.message}: ${error}` });
      reported = true;
    } else if (ev.reason === 'SuccessfulRescale') {
      out.push({ type: 'Warning', reason: 'FailedRescale', message: `${ev.message}; error: ${error}` });
      reported = true;
    } else {
      out.push(ev);
    }
  }
  if (!reported) {
    const failed = to > from ? scaleTargetActivationFailed(target, from, to) : scaleTargetDeactivationFailed(target, from, to);
    out.push({ ...failed, message: `${failed.message}: ${error}` });
  }
  return out;
}
