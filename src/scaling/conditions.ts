// KEDA's conditions with KEDA's exact reasons and messages. KEDA's schema has no lastTransitionTime,
// so a condition that did not change is byte-for-byte the same and costs no status write.

import type { Condition } from './types.ts';

export const READY_OK: Condition = {
  type: 'Ready',
  status: 'True',
  reason: 'ScaledObjectReady',
  message: 'ScaledObject is defined correctly and is ready for scaling',
};
export const READY_PAUSED: Condition = { ...READY_OK, message: 'ScaledObject is paused' };
export const READY_TRIGGER_ERROR: Condition = {
  type: 'Ready',
  status: 'False',
  reason: 'TriggerError',
  message: 'Triggers defined in ScaledObject are not working correctly',
};
export const READY_PARTIAL_TRIGGER_ERROR: Condition = {
  type: 'Ready',
  status: 'Unknown',
  reason: 'PartialTriggerError',
  message: 'Some triggers defined in ScaledObject are not working correctly',
};
export const CHECK_FAILED_REASON = 'ScaledObjectCheckFailed';
export function readyCheckFailed(message: string): Condition {
  return { type: 'Ready', status: 'False', reason: CHECK_FAILED_REASON, message };
}

export const ACTIVE_TRUE: Condition = {
  type: 'Active',
  status: 'True',
  reason: 'ScalerActive',
  message: 'Scaling is performed because triggers are active',
};
export const ACTIVE_FORCED: Condition = {
  ...ACTIVE_TRUE,
  message: 'Scaling is performed because activation is being forced by annotation',
};
export const ACTIVE_FALSE: Condition = {
  type: 'Active',
  status: 'False',
  reason: 'ScalerNotActive',
  message: 'Scaling is not performed because triggers are not active',
};
export const ACTIVE_COOLDOWN: Condition = {
  type: 'Active',
  status: 'False',
  reason: 'ScalerCooldown',
  message: 'Scaler cooling down because triggers are not active',
};
export const ACTIVE_UNKNOWN: Condition = {
  type: 'Active',
  status: 'Unknown',
  reason: 'UnknownState',
  message: 'ScaledObject check failed',
};

export const FALLBACK_TRUE: Condition = {
  type: 'Fallback',
  status: 'True',
  reason: 'FallbackExists',
  message: 'At least one trigger is falling back on this scaled object',
};
export const FALLBACK_FALSE: Condition = {
  type: 'Fallback',
  status: 'False',
  reason: 'NoFallbackFound',
  message: 'No fallbacks are active on this scaled object',
};

export const PAUSED_TRUE: Condition = {
  type: 'Paused',
  status: 'True',
  reason: 'ScaledObjectPaused',
  message: 'ScaledObject is paused',
};
export const PAUSED_REMOVED: Condition = {
  type: 'Paused',
  status: 'False',
  reason: 'ScaledObjectUnpaused',
  message: 'pause annotation removed for ScaledObject',
};

/** KEDA's first reconcile: Ready, Active and Fallback unknown, not paused */
export const INITIAL_CONDITIONS: readonly Condition[] = [
  { type: 'Ready', status: 'Unknown' },
  { type: 'Active', status: 'Unknown' },
  { type: 'Fallback', status: 'Unknown' },
  { type: 'Paused', status: 'False' },
];

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** The previous list with KEDA's four conditions guaranteed; others (e.g. HPAActive) are kept as they are. */
export function initializeConditions(previous: readonly Condition[] | undefined): Condition[] {
  const list = (previous ?? []).map((c) => ({ ...c }));
  for (const initial of INITIAL_CONDITIONS) {
    if (!findCondition(list, initial.type)) list.push({ ...initial });
  }
  return list;
}

/** Replaces the condition of the same type in place, so the order a reader sees never shuffles. */
export function setCondition(conditions: readonly Condition[], condition: Condition): Condition[] {
  const index = conditions.findIndex((c) => c.type === condition.type);
  if (index < 0) return [...conditions, { ...condition }];
  const next = [...conditions];
  next[index] = { ...condition };
  return next;
}
