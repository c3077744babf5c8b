// One HPA sync, as kube-controller-manager would run it on the HPA KEDA creates: out-of-range
// correction, the metric proposals, then normalisation. It only runs while the target has replicas
// above its resting size; the caller decides that.

import type { Recommendation, ScaleChange } from './types.ts';
import type { EffectiveBehavior } from './behavior.ts';
import { normalizeLegacy, normalizeWithBehavior, pruneScaleEvents, recordScaleEvent } from './behavior.ts';
import type { MetricForReplicas } from './replica-calculator.ts';
import { DEFAULT_TOLERANCE, replicasForMetrics } from './replica-calculator.ts';
import { seedHistory } from './stabilization.ts';

export interface HpaSyncInput {
  specReplicas: number;
  statusReplicas: number;
  readyReplicas: number;
  /** max(minReplicaCount, 1) */
  minReplicas: number;
  maxReplicas: number;
  metrics: readonly MetricForReplicas[];
  behavior: EffectiveBehavior | undefined;
  recommendations: readonly Recommendation[] | undefined;
  scaleEvents: readonly ScaleChange[] | undefined;
  now: number;
}

export interface HpaSyncResult {
  replicas: number;
  reason: string;
  recommendations: Recommendation[] | undefined;
  scaleEvents: ScaleChange[] | undefined;
  /** the HPA's rescale reason for its event, present when replicas change */
  rescaleReason?: string;
}

export function hpaSync(input: HpaSyncInput): HpaSyncResult {
  const cur = input.specReplicas;
  const { minReplicas, maxReplicas, behavior, now } = input;
  const history = input.recommendations ? [...input.recommendations] : undefined;

  // Out of range: corrected at once, with no metrics, stabilization or policies (as the HPA does).
  if (cur > maxReplicas || cur < minReplicas) {
    const replicas = cur > maxReplicas ? maxReplicas : minReplicas;
    return {
      replicas,
      reason:
        cur > maxReplicas
          ? `scaling ${cur} -> ${replicas}: above maxReplicaCount ${maxReplicas}`
          : `scaling ${cur} -> ${replicas}: below the minimum ${minReplicas}`,
      recommendations: history,
      scaleEvents: recordScaleEvent(input.scaleEvents, cur, replicas, behavior, now),
      rescaleReason:
        cur > maxReplicas
          ? 'Current number of replicas above Spec.MaxReplicas'
          : 'Current number of replicas below Spec.MinReplicas',
    };
  }

  const tolerance = behavior
    ? { up: behavior.scaleUp.tolerance, down: behavior.scaleDown.tolerance }
    : DEFAULT_TOLERANCE;
  const verdict = replicasForMetrics(
    input.metrics,
    { specReplicas: cur, statusReplicas: input.statusReplicas, readyReplicas: input.readyReplicas, now },
    tolerance,
  );
  if (verdict.kind === 'hold') {
    // the HPA records nothing when it cannot compute: history stays as it was
    return {
      replicas: cur,
      reason: `keeping ${cur}: ${verdict.why}`,
      recommendations: history,
      scaleEvents: pruneScaleEvents(input.scaleEvents, behavior, now),
    };
  }

  const normalizeInput = {
    currentReplicas: cur,
    proposal: verdict.replicas,
    minReplicas,
    maxReplicas,
    // A first proposal below the current count is held for one window by a seed of the current count,
    // as the HPA controller seeds an HPA it first sees. A proposal at or above the current count holds
    // the count by itself, and a seed would then only delay a scale-up through a scale-up window.
    history: history ?? (verdict.replicas < cur ? seedHistory(cur, now) : []),
    scaleEvents: input.scaleEvents,
    now,
  };
  const normalized = behavior ? normalizeWithBehavior(normalizeInput, behavior) : normalizeLegacy(normalizeInput);
  const replicas = normalized.replicas;
  const verb = replicas === cur ? `keeping ${cur}` : `scaling ${cur} -> ${replicas}`;
  const failed = verdict.failures.length > 0 ? ` (failed: ${verdict.failures.join('; ')})` : '';
  const reason = [`${verb}: ${verdict.why}${failed}`, ...normalized.notes].join('; ');
  return {
    replicas,
    reason,
    recommendations: normalized.recommendations,
    scaleEvents: recordScaleEvent(input.scaleEvents, cur, replicas, behavior, now),
    ...(replicas !== cur
      ? {
          rescaleReason:
            replicas > cur ? `${verdict.hpaMetric} above target` : 'All metrics below target',
        }
      : {}),
  };
}
