// advanced.scalingModifiers (KEDA pkg/scaling/modifiers, controllers/keda/hpa.go): the named triggers
// become the variables of a formula, and the HPA sees one external metric, `composite-metric`, whose
// value is the formula's result and whose target is scalingModifiers.target (AverageValue unless
// metricType says Value); cpu/memory triggers stay the HPA's own metrics beside it. The object is active
// iff the composite value is above activationTarget and no trigger failed.

import type { MetricType, ScaledObjectSpec, TriggerSpec } from './types.ts';
import type { TriggerReading } from './fallback.ts';
import type { Activity } from './activation.ts';
import type { CompiledFormula } from './formula.ts';
import { evaluateFormula, validateFormula } from './formula.ts';
import { isResourceTrigger } from './status.ts';
import { formatNumber } from './time.ts';

export const COMPOSITE_METRIC = 'composite-metric';

export interface Modifiers {
  formula: CompiledFormula;
  target: number;
  /** KEDA's fallback works with scalingModifiers only when target parses as an integer > 0 (HasValidFallback) */
  fallbackUsable: boolean;
  activationTarget: number;
  metricType: 'AverageValue' | 'Value';
}

type Raw = NonNullable<NonNullable<ScaledObjectSpec['advanced']>['scalingModifiers']>;

/** KEDA's IsUsingModifiers: some scalingModifiers field is set */
export function usesModifiers(spec: Pick<ScaledObjectSpec, 'advanced'>): boolean {
  const sm = spec.advanced?.scalingModifiers;
  return sm !== undefined && [sm.formula, sm.target, sm.activationTarget, sm.metricType].some((v) => v !== undefined && v !== '');
}

/** The formula's variables: named triggers that are not cpu/memory, as KEDA compiles the formula against */
export function formulaNames(triggers: readonly TriggerSpec[]): string[] {
  return triggers.filter((t) => !isResourceTrigger(t.type) && t.name).map((t) => t.name as string);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseDecimal(s: string): number | undefined {
  const t = s.trim();
  return DECIMAL.test(t) ? Number(t) : undefined;
}

/**
 * KEDA's ValidateAndCompileScalingModifiers and the webhook's fallback rule, in KEDA's words; an
 * activationTarget KEDA fails on at every poll is refused here once. Undefined when scalingModifiers are
 * not used.
 */
export function parseModifiers(spec: ScaledObjectSpec): { modifiers: Modifiers } | { error: string } | undefined {
  const usedBy = spec.fallback?.behavior === 'scalingModifiers';
  if (!usesModifiers(spec)) {
    return usedBy ? { error: 'scalingModifiers fallback behavior requires scalingModifiers.formula to be defined' } : undefined;
  }
  const sm = spec.advanced?.scalingModifiers as Raw;
  const formula = sm.formula?.trim() ?? '';
  if (formula === '') return { error: 'error ScalingModifiers.Formula is mandatory' };
  const target = sm.target?.trim() ?? '';
  if (target === '') return { error: 'error validating formula in ScalingModifiers: formula is given but target is empty' };
  const compiled = validateFormula(formula, formulaNames(spec.triggers ?? []));
  if ('error' in compiled) return { error: `error validating formula in ScalingModifiers: ${compiled.error}` };
  const targetValue = parseDecimal(target);
  if (targetValue === undefined || !(targetValue > 0)) {
    return { error: `error validating target in ScalingModifiers: advanced.scalingModifiers.target "${target}" must be a number above 0` };
  }
  const metricType: MetricType = sm.metricType ?? 'AverageValue';
  if (metricType === 'Utilization') {
    return { error: 'error validating target in ScalingModifiers: error trigger type is Utilization, but it needs to be AverageValue or Value for external metrics' };
  }
  let activationTarget = 0;
  if (sm.activationTarget !== undefined && sm.activationTarget.trim() !== '') {
    const a = parseDecimal(sm.activationTarget);
    if (a === undefined) return { error: `scalingModifiers.ActivationTarget parsing error: advanced.scalingModifiers.activationTarget "${sm.activationTarget}" is not a number` };
    activationTarget = a;
  }
  return {
    modifiers: {
      formula: compiled,
      target: targetValue,
      fallbackUsable: /^[+-]?\d+$/.test(target) && Number(target) > 0,
      activationTarget,
      metricType,
    },
  };
}

export interface CompositeOutcome {
  /** the composite metric as the HPA reads it: a value, or an error when a trigger failed */
  reading: TriggerReading;
  /** the formula could not be evaluated: the object is not scaled at all in this pass */
  formulaError?: string;
  /** the composite value for reporting, truncated to milli-units as KEDA sends it */
  value?: number;
  /** composite value > activationTarget (and no trigger failed) */
  active: boolean;
  why: string;
}

/**
 * The composite metric of one pass, in KEDA's order: a fallback value stands in for the formula
 * (fallback expressed against scalingModifiers.target); a failed trigger fails the metric; otherwise
 * the formula over the named triggers' values (nil for a trigger past failureThreshold with
 * fallback.behavior scalingModifiers). A formula that ends in nil gets fallback.replicas x target.
 * A run-time error or a value that is not a finite number (x / 0) is a formula error: KEDA logs it and
 * hands the HPA the raw trigger values; scalepass refuses to scale on it.
 */
export function compositeStep(
  readings: readonly TriggerReading[],
  m: Modifiers,
  fallback: ScaledObjectSpec['fallback'],
): CompositeOutcome {
  const sources = readings.filter((r) => !isResourceTrigger(r.type));
  const base: TriggerReading = {
    index: -1,
    metricName: COMPOSITE_METRIC,
    type: COMPOSITE_METRIC,
    metricType: m.metricType,
    target: m.target,
    active: false,
    fallback: false,
  };
  const failed = sources.filter((r) => r.error !== undefined);
  const isError = failed.length > 0;
  const stand = sources.find((r) => r.fallback && r.valueMilli !== undefined);
  if (stand?.valueMilli !== undefined) {
    const value = stand.valueMilli / 1000;
    const active = !isError && value > m.activationTarget;
    return {
      reading: { ...base, value, valueMilli: stand.valueMilli, active, fallback: true, fallbackWhy: stand.fallbackWhy },
      value,
      active,
      why: `${COMPOSITE_METRIC} = ${formatNumber(value)}: fallback for ${stand.metricName}`,
    };
  }
  if (isError) {
    const error = `metric source failed: ${failed.map((r) => r.metricName).join(', ')}`;
    return { reading: { ...base, error }, active: false, why: `${COMPOSITE_METRIC} not computed: ${error}` };
  }
  const vars = Object.fromEntries(
    sources.filter((r) => r.name).map((r) => [r.name as string, r.nil || r.valueMilli === undefined ? null : r.valueMilli / 1000]),
  );
  const result = evaluateFormula(m.formula, vars);
  let out: number;
  let note = '';
  if ('error' in result) return formulaFailed(base, result.error);
  if ('nil' in result) {
    if (fallback === undefined) return formulaFailed(base, 'scalingModifiers formula evaluated to nil but no fallback is configured');
    // as KEDA: replicas x target whatever the metricType
    out = fallback.replicas * m.target;
    note = ` (the formula gave nil: fallback.replicas ${fallback.replicas} x target ${formatNumber(m.target)})`;
  } else {
    out = result.value;
  }
  if (!Number.isFinite(out)) {
    return formulaFailed(base, `advanced.scalingModifiers.formula: the formula's value is ${String(out)}, not a number to scale on (a division by zero?)`);
  }
  // KEDA: SetMilli(int64(out * 1000)); a value below 0 reaches the HPA, which then asks for its minimum, as 0 does
  const milli = Math.trunc(out * 1000);
  const value = milli / 1000;
  const active = value > m.activationTarget;
  return {
    reading: { ...base, value, valueMilli: Math.max(0, milli), active },
    value,
    active,
    why: `${COMPOSITE_METRIC} = ${formatNumber(value)} from ${m.formula.source}${note}`,
  };
}

function formulaFailed(base: TriggerReading, error: string): CompositeOutcome {
  return { reading: { ...base, error }, formulaError: error, active: false, why: error };
}

/**
 * KEDA recomputes activity from the composite value alone once formulas are used: per-trigger
 * activity no longer counts, and any failed trigger makes the object inactive. An object whose
 * triggers are all cpu/memory stays active, as without formulas.
 */
export function compositeActivity(readings: readonly TriggerReading[], composite: CompositeOutcome, forced: boolean): Activity {
  const isError = readings.some((r) => r.error !== undefined);
  const onlyResource = readings.length > 0 && readings.every((r) => isResourceTrigger(r.type));
  const active = !isError && (composite.active || onlyResource);
  return { active, forced, isError, activeMetricNames: composite.active && !isError ? [COMPOSITE_METRIC] : [] };
}
