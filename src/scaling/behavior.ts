// The HPA's normalisation of a proposal: stabilization over the recommendation history, then either
// the legacy rate rule (no behavior) or the scaling policies of autoscaling/v2 behavior, rate-limited
// by the scale changes made within each policy's period (Kubernetes horizontal.go).

import type { HPABehavior, HPAScalingPolicy, HPAScalingRules, Recommendation, ScaleChange } from './types.ts';
import { PAUSED_SCALE_IN_ANNOTATION, PAUSED_SCALE_OUT_ANNOTATION } from './annotations.ts';
import { extremesWithin, recordRecommendation } from './stabilization.ts';
import { formatTime, parseTime } from './time.ts';
import { DEFAULT_TOLERANCE } from './replica-calculator.ts';

export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

export interface ScalingRules {
  windowS: number;
  selectPolicy: SelectPolicy;
  policies: HPAScalingPolicy[];
  tolerance: number;
  /** set when an annotation, not the spec, disabled this direction */
  disabledBy?: string;
}

export interface EffectiveBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** the controller's --horizontal-pod-autoscaler-downscale-stabilization */
export const DOWNSCALE_STABILIZATION_S = 300;

const SCALE_UP_DEFAULTS: ScalingRules = {
  windowS: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
  tolerance: DEFAULT_TOLERANCE.up,
};

const SCALE_DOWN_DEFAULTS: ScalingRules = {
  windowS: DOWNSCALE_STABILIZATION_S,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  tolerance: DEFAULT_TOLERANCE.down,
};

/** a Kubernetes quantity as used for tolerance: '0.05', '50m', '5e-2' */
export function parseTolerance(value: string | number | undefined): number | { error: string } | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : { error: `${value} is not a tolerance` };
  const match = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m|[eE][+-]?[0-9]+)?$/.exec(value.trim());
  if (!match) return { error: `"${value}" is not a quantity` };
  const base = Number(match[1]);
  const suffix = match[2];
  if (suffix === undefined) return base;
  if (suffix === 'm') return base / 1000;
  return base * 10 ** Number(suffix.slice(1));
}

function fill(rules: HPAScalingRules | undefined, defaults: ScalingRules): ScalingRules {
  const tolerance = parseTolerance(rules?.tolerance);
  return {
    windowS: rules?.stabilizationWindowSeconds ?? defaults.windowS,
    selectPolicy: rules?.selectPolicy ?? defaults.selectPolicy,
    // explicit policies replace the defaults entirely, as API defaulting does
    policies: rules?.policies ?? defaults.policies,
    tolerance: typeof tolerance === 'number' ? tolerance : defaults.tolerance,
  };
}

/**
 * undefined means the legacy normalisation. The pause-scale annotations turn a direction's
 * selectPolicy to Disabled, and KEDA does that by giving its HPA a behavior: so they switch the
 * whole object to the behavior path with API defaults, exactly as KEDA's HPA would be.
 */
export function effectiveBehavior(
  behavior: HPABehavior | undefined,
  pausedScaleIn: boolean,
  pausedScaleOut: boolean,
): EffectiveBehavior | undefined {
  if (behavior === undefined && !pausedScaleIn && !pausedScaleOut) return undefined;
  const scaleUp = fill(behavior?.scaleUp, SCALE_UP_DEFAULTS);
  const scaleDown = fill(behavior?.scaleDown, SCALE_DOWN_DEFAULTS);
  return {
    scaleUp: pausedScaleOut ? { ...scaleUp, selectPolicy: 'Disabled', disabledBy: PAUSED_SCALE_OUT_ANNOTATION } : scaleUp,
    scaleDown: pausedScaleIn ? { ...scaleDown, selectPolicy: 'Disabled', disabledBy: PAUSED_SCALE_IN_ANNOTATION } : scaleDown,
  };
}

/** What the API server would refuse when KEDA creates the HPA; the message names the user's field. */
export function checkBehavior(behavior: HPABehavior | undefined): string | undefined {
  if (behavior === undefined) return undefined;
  for (const direction of ['scaleUp', 'scaleDown'] as const) {
    const rules = behavior[direction];
    if (rules === undefined) continue;
    const field = `advanced.horizontalPodAutoscalerConfig.behavior.${direction}`;
    const window = rules.stabilizationWindowSeconds;
    if (window !== undefined && !(Number.isInteger(window) && window >= 0 && window <= 3600)) {
      return `${field}.stabilizationWindowSeconds: must be an integer from 0 to 3600, got ${window}`;
    }
    if (rules.selectPolicy !== undefined && !['Max', 'Min', 'Disabled'].includes(rules.selectPolicy)) {
      return `${field}.selectPolicy: must be Max, Min or Disabled, got ${String(rules.selectPolicy)}`;
    }
    if (rules.policies !== undefined) {
      if (rules.policies.length === 0) return `${field}.policies: must specify at least one policy`;
      for (const [i, policy] of rules.policies.entries()) {
        if (policy.type !== 'Pods' && policy.type !== 'Percent') {
          return `${field}.policies[${i}].type: must be Pods or Percent, got ${String(policy.type)}`;
        }
        if (!(Number.isInteger(policy.value) && policy.value > 0)) {
          return `${field}.policies[${i}].value: must be a positive integer, got ${policy.value}`;
        }
        const period = policy.periodSeconds;
        if (!(Number.isInteger(period) && period >= 1 && period <= 1800)) {
          return `${field}.policies[${i}].periodSeconds: must be an integer from 1 to 1800, got ${period}`;
        }
      }
    }
    const tolerance = parseTolerance(rules.tolerance);
    if (typeof tolerance === 'object') return `${field}.tolerance: ${tolerance.error}`;
  }
  return undefined;
}

export function policyText(policy: HPAScalingPolicy): string {
  return `${policy.type}/${policy.value} per ${policy.periodSeconds}s`;
}

// ---- scale events (rate policies) --------------------------------------------------------------

interface TimedChange {
  at: number;
  change: number;
  original: ScaleChange;
}

function timedChanges(events: readonly ScaleChange[] | undefined): TimedChange[] {
  const list: TimedChange[] = [];
  for (const event of events ?? []) {
    const at = parseTime(event.time);
    if (at !== undefined && Number.isFinite(event.change)) list.push({ at, change: event.change, original: event });
  }
  return list;
}

/** replicas the target had when the period began: changes strictly inside the period are undone */
export function periodStartReplicas(
  currentReplicas: number,
  events: readonly ScaleChange[] | undefined,
  periodS: number,
  now: number,
): number {
  const cutoff = now - periodS * 1000;
  let added = 0;
  let removed = 0;
  for (const event of timedChanges(events)) {
    if (event.at <= cutoff) continue;
    if (event.change > 0) added += event.change;
    else removed -= event.change;
  }
  return currentReplicas - added + removed;
}

export interface RateLimit {
  replicas: number;
  /** the policy that set the limit; absent when the direction is disabled */
  policy?: HPAScalingPolicy;
}

export function scaleUpLimit(
  currentReplicas: number,
  events: readonly ScaleChange[] | undefined,
  rules: ScalingRules,
  now: number,
): RateLimit {
  if (rules.selectPolicy === 'Disabled') return { replicas: currentReplicas };
  let chosen: RateLimit | undefined;
  for (const policy of rules.policies) {
    const start = periodStartReplicas(currentReplicas, events, policy.periodSeconds, now);
    // rounded up, or a small Percent would never add a pod
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    const better = rules.selectPolicy === 'Min' ? proposed < (chosen?.replicas ?? Infinity) : proposed > (chosen?.replicas ?? -Infinity);
    if (better) chosen = { replicas: proposed, policy };
  }
  return chosen ?? { replicas: currentReplicas };
}

export function scaleDownLimit(
  currentReplicas: number,
  events: readonly ScaleChange[] | undefined,
  rules: ScalingRules,
  now: number,
): RateLimit {
  if (rules.selectPolicy === 'Disabled') return { replicas: currentReplicas };
  let chosen: RateLimit | undefined;
  for (const policy of rules.policies) {
    const start = periodStartReplicas(currentReplicas, events, policy.periodSeconds, now);
    // Go's int32(float64) conversion truncates toward zero
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    // 'Max' means the largest change, so the smallest count
    const better = rules.selectPolicy === 'Min' ? proposed > (chosen?.replicas ?? -Infinity) : proposed < (chosen?.replicas ?? Infinity);
    if (better) chosen = { replicas: proposed, policy };
  }
  return chosen ?? { replicas: currentReplicas };
}

export function longestPeriodS(behavior: EffectiveBehavior): number {
  const periods = [...behavior.scaleUp.policies, ...behavior.scaleDown.policies].map((p) => p.periodSeconds);
  return Math.max(0, ...periods);
}

/**
 * Only changes still inside some policy's period can limit a future change; older ones are dropped.
 * Without behavior the HPA keeps no scale events at all.
 */
export function pruneScaleEvents(
  events: readonly ScaleChange[] | undefined,
  behavior: EffectiveBehavior | undefined,
  now: number,
): ScaleChange[] | undefined {
  if (behavior === undefined) return undefined;
  const cutoff = now - longestPeriodS(behavior) * 1000;
  const kept = timedChanges(events)
    .filter((e) => e.at > cutoff)
    .sort((a, b) => a.at - b.at)
    .map((e) => e.original);
  return kept.length > 0 ? kept : undefined;
}

export function recordScaleEvent(
  events: readonly ScaleChange[] | undefined,
  from: number,
  to: number,
  behavior: EffectiveBehavior | undefined,
  now: number,
): ScaleChange[] | undefined {
  if (behavior === undefined) return undefined;
  const next = to === from ? [...(events ?? [])] : [...(events ?? []), { time: formatTime(now), change: to - from }];
  return pruneScaleEvents(next, behavior, now);
}

// ---- normalisation -----------------------------------------------------------------------------

export interface NormalizeInput {
  currentReplicas: number;
  proposal: number;
  minReplicas: number;
  maxReplicas: number;
  history: readonly Recommendation[];
  scaleEvents: readonly ScaleChange[] | undefined;
  now: number;
}

export interface Normalized {
  replicas: number;
  /** what moved the proposal (stabilization, limits), in order; empty when nothing did */
  notes: string[];
  recommendations: Recommendation[];
}

/** Without behavior: max over 300 s of recommendations, then at most max(2 x current, 4) per sync. */
export function normalizeLegacy(input: NormalizeInput): Normalized {
  const { currentReplicas: cur, proposal, minReplicas, maxReplicas, now } = input;
  const stabilized = extremesWithin(input.history, proposal, now, DOWNSCALE_STABILIZATION_S).max;
  const recommendations = recordRecommendation(input.history, proposal, now, DOWNSCALE_STABILIZATION_S);
  const notes: string[] = [];
  if (stabilized !== proposal) {
    notes.push(`held at ${stabilized}, the highest recommendation of the last ${DOWNSCALE_STABILIZATION_S}s`);
  }
  const rateLimit = Math.max(2 * cur, 4);
  const upperNote =
    maxReplicas > rateLimit
      ? `scale-up limited to ${rateLimit} (twice the current ${cur}, at least 4)`
      : `limited by maxReplicaCount ${maxReplicas}`;
  const upper = Math.min(maxReplicas, rateLimit);
  let replicas = stabilized;
  if (stabilized < minReplicas) {
    replicas = minReplicas;
    notes.push(`raised to the minimum ${minReplicas}`);
  } else if (stabilized > upper) {
    replicas = upper;
    notes.push(upperNote);
  }
  return { replicas, notes, recommendations };
}

/** With behavior: both stabilization windows, then the policies' rate limits. */
export function normalizeWithBehavior(input: NormalizeInput, behavior: EffectiveBehavior): Normalized {
  const { currentReplicas: cur, proposal, minReplicas, maxReplicas, now } = input;
  const { scaleUp, scaleDown } = behavior;
  const upBound = extremesWithin(input.history, proposal, now, scaleUp.windowS).min;
  const downBound = extremesWithin(input.history, proposal, now, scaleDown.windowS).max;
  const recommendations = recordRecommendation(
    input.history,
    proposal,
    now,
    Math.max(scaleUp.windowS, scaleDown.windowS),
  );
  const notes: string[] = [];
  let recommended = cur;
  if (recommended < upBound) recommended = upBound;
  if (recommended > downBound) recommended = downBound;
  if (recommended !== proposal) {
    notes.push(
      proposal >= cur
        ? `scale-up stabilized at ${recommended} (lowest recommendation in the last ${scaleUp.windowS}s)`
        : `scale-down stabilized at ${recommended} (highest recommendation in the last ${scaleDown.windowS}s)`,
    );
  }

  let replicas = recommended;
  if (recommended > cur) {
    const limit = scaleUpLimit(cur, input.scaleEvents, scaleUp, now);
    const rateLimit = Math.max(limit.replicas, cur);
    const upper = Math.min(maxReplicas, rateLimit);
    if (recommended > upper) {
      replicas = upper;
      notes.push(maxReplicas > rateLimit ? limitNote('scale-up', scaleUp, limit) : `limited by maxReplicaCount ${maxReplicas}`);
    }
  } else if (recommended < cur) {
    const limit = scaleDownLimit(cur, input.scaleEvents, scaleDown, now);
    const rateLimit = Math.min(limit.replicas, cur);
    const lower = Math.max(minReplicas, rateLimit);
    if (recommended < lower) {
      replicas = lower;
      notes.push(minReplicas < rateLimit ? limitNote('scale-down', scaleDown, limit) : `raised to the minimum ${minReplicas}`);
    }
  }
  return { replicas, notes, recommendations };
}

function limitNote(direction: string, rules: ScalingRules, limit: RateLimit): string {
  if (rules.selectPolicy === 'Disabled') return `${direction} disabled (${rules.disabledBy ?? 'selectPolicy Disabled'})`;
  return limit.policy ? `${direction} limited by policy ${policyText(limit.policy)}` : `${direction} limited`;
}
