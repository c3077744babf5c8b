// Small steps every kind takes the same way after its decision.
import { triggerRef } from '../measure.ts';
import type { TriggerMeasurement } from '../scaling/types.ts';
import type { ScaledResourceRef } from '../telemetry/recorder.ts';
import type { AnyScaled, ObjectReport, PassContext } from './kind.ts';

export function refOf(obj: AnyScaled): ScaledResourceRef {
  return { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

export function distinct(xs: string[]): string {
  return [...new Set(xs.filter(Boolean))].join(',');
}

/** The values the decision used, on the report's triggers and as keda.scaler.metrics.value; each trigger's target beside it. */
export function recordValues(ctx: PassContext, report: ObjectReport, measurements: readonly TriggerMeasurement[], values: Record<string, number>): void {
  const ref = { kind: report.kind, namespace: report.namespace, name: report.name };
  for (const m of measurements) {
    if (Number.isFinite(m.target)) ctx.rec.recordScalerTarget(ref, triggerRef(m), m.target);
    const v = values[m.metricName];
    if (v === undefined) continue;
    const tr = report.triggers.find((t) => t.metricName === m.metricName);
    if (tr) tr.value = v;
    ctx.rec.recordScalerValue(ref, triggerRef(m), v);
  }
}

/** A trigger that could not be read fails its object for this pass (exit 1), whatever was decided. */
export function failOnTriggerErrors(report: ObjectReport): void {
  const errored = report.triggers.filter((t) => t.error);
  if (errored.length && report.outcome === 'evaluated') {
    report.outcome = 'failed';
    report.detail = errored.map((t) => `trigger ${t.index} (${t.type}): ${t.error}`).join('; ');
  }
}

