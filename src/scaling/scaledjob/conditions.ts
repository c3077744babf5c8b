// KEDA's ScaledJob conditions, exact reasons and messages (pkg/scaling/executor/scale_jobs.go,
// controllers/keda/scaledjob_controller.go, apis/keda/v1alpha1/condition_types.go). The Active
// texts are the same as a ScaledObject's and are shared from ../conditions.ts.

import type { Condition } from '../types.ts';

export const READY_OK: Condition = {
  type: 'Ready',
  status: 'True',
  reason: 'ScaledJobReady',
  message: 'ScaledJob is defined correctly and is ready for scaling',
};
/** what KEDA's reconcile leaves while paused (its loop, which would overwrite it, is stopped) */
export const READY_PAUSED: Condition = { ...READY_OK, message: 'ScaledJob is paused, skipping reconcile loop' };
export const READY_TRIGGER_ERROR: Condition = {
  type: 'Ready',
  status: 'False',
  reason: 'TriggerError',
  message: 'Triggers defined in ScaledJob are not working correctly',
};
export const READY_PARTIAL_TRIGGER_ERROR: Condition = {
  type: 'Ready',
  status: 'Unknown',
  reason: 'PartialTriggerError',
  message: 'Some triggers defined in ScaledJob are not working correctly',
};
export const CHECK_FAILED_REASON = 'ScaledJobCheckFailed';
export function readyCheckFailed(message: string): Condition {
  return { type: 'Ready', status: 'False', reason: CHECK_FAILED_REASON, message };
}
export const ACTIVE_UNKNOWN: Condition = {
  type: 'Active',
  status: 'Unknown',
  reason: 'UnknownState',
  message: 'ScaledJob check failed',
};
export const PAUSED_TRUE: Condition = {
  type: 'Paused',
  status: 'True',
  reason: 'ScaledJobPaused',
  message: 'ScaledJob is paused',
};
export const PAUSED_FALSE: Condition = {
  type: 'Paused',
  status: 'False',
  reason: 'ScaledJobUnpaused',
  message: 'ScaledJob is unpaused',
};
