// How many Jobs the triggers ask for, as KEDA v2.20 combines them (pkg/scaling/scale_handler.go
// getScaledJobMetrics, pkg/scaling/scaledjob/metrics.go):
// - each trigger's queueLength is its value, and its maxValue queueLength / target capped at the
//   room above the minimum (0 when the target is 0);
// - a trigger whose read failed takes no part (it only marks the pass as having an error); cpu and
//   memory triggers have no external metric and take no part either;
// - max / min / avg / sum look only at ACTIVE triggers, and max and min pick one trigger by its
//   queueLength and take that trigger's maxValue;
// - the object is active when the chosen triggers are, or when minReplicaCount > 0;
// - scaleTo = ceil(queueLength), maxScale = ceil(min(maxValue, room)).

import type { TriggerMeasurement } from '../types.ts';
import { isResourceTrigger } from '../status.ts';
import { formatNumber } from '../time.ts';
import type { MultipleScalersCalculation } from './types.ts';

export interface TriggerJobs {
  metricName: string;
  queueLength: number;
  maxValue: number;
  active: boolean;
}

export interface CombinedJobs {
  active: boolean;
  /** some trigger's read failed */
  error: boolean;
  /** queueLength after combining, before rounding */
  queueLength: number;
  /** maxValue after combining and capping, before rounding */
  maxValue: number;
  /** ceil(queueLength) */
  scaleTo: number;
  /** ceil(maxValue) */
  maxScale: number;
  /** every trigger that has an external metric, in trigger order (status.externalMetricNames) */
  metricNames: string[];
  /** the metric names whose trigger is active */
  activeMetricNames: string[];
  why: string;
}

/** One trigger's queueLength and maxValue (KEDA's CalculateQueueLengthAndMaxValue). */
export function triggerJobs(m: TriggerMeasurement, room: number): TriggerJobs {
  const queueLength = m.value ?? 0;
  const maxValue = m.target !== 0 ? Math.min(queueLength / m.target, room) : 0;
  return { metricName: m.metricName, queueLength, maxValue, active: m.active === true };
}

export function combineTriggers(
  measurements: readonly TriggerMeasurement[],
  calculation: MultipleScalersCalculation | undefined,
  minReplicaCount: number,
  room: number,
): CombinedJobs {
  const external = [...measurements].filter((m) => !isResourceTrigger(m.type)).sort((a, b) => a.index - b.index);
  const read = external.filter((m) => m.error === undefined).map((m) => triggerJobs(m, room));
  const mode = calculation ?? 'max';
  const picked = combine(read, mode);
  let active = picked.active;
  if (minReplicaCount > 0) active = true;
  const maxValue = Math.min(picked.maxValue, room);
  const why = explain(mode, picked, read, minReplicaCount);
  return {
    active,
    error: external.some((m) => m.error !== undefined),
    queueLength: picked.queueLength,
    maxValue,
    scaleTo: Math.ceil(picked.queueLength),
    maxScale: Math.ceil(maxValue),
    metricNames: external.map((m) => m.metricName),
    activeMetricNames: read.filter((t) => t.active).map((t) => t.metricName),
    why,
  };
}

interface Picked {
  queueLength: number;
  maxValue: number;
  active: boolean;
  /** the triggers whose numbers were used */
  from: TriggerJobs[];
}

function combine(read: readonly TriggerJobs[], mode: MultipleScalersCalculation): Picked {
  const out: Picked = { queueLength: 0, maxValue: 0, active: false, from: [] };
  const take = (t: TriggerJobs) => {
    out.queueLength = t.queueLength;
    out.maxValue = t.maxValue;
    out.active = t.active;
    out.from = [t];
  };
  switch (mode) {
    case 'min':
      // KEDA's test is `(queueLength == 0 || t.queueLength < queueLength) && active`: a pick of 0 is
      // replaced by the next active trigger, so the result depends on trigger order when one is 0
      for (const t of read) if ((out.queueLength === 0 || t.queueLength < out.queueLength) && t.active) take(t);
      return out;
    case 'avg': {
      const active = read.filter((t) => t.active);
      if (active.length === 0) return out;
      return {
        queueLength: active.reduce((s, t) => s + t.queueLength, 0) / active.length,
        maxValue: active.reduce((s, t) => s + t.maxValue, 0) / active.length,
        active: true,
        from: active,
      };
    }
    case 'sum': {
      const active = read.filter((t) => t.active);
      return {
        queueLength: active.reduce((s, t) => s + t.queueLength, 0),
        maxValue: active.reduce((s, t) => s + t.maxValue, 0),
        active: active.length > 0,
        from: active,
      };
    }
    case 'max':
      // strictly greater than the pick so far, which starts at 0: an active trigger whose queue is 0
      // (or below) is never picked, and leaves the object inactive unless another one is
      for (const t of read) if (t.queueLength > out.queueLength && t.active) take(t);
      return out;
  }
}

function explain(mode: MultipleScalersCalculation, p: Picked, read: readonly TriggerJobs[], min: number): string {
  const n = formatNumber;
  const parts = p.from.map((t) => `${t.metricName} queue ${n(t.queueLength)} -> ${n(t.maxValue)} jobs`);
  let text: string;
  if (p.from.length === 0) {
    if (read.length === 0) text = 'no trigger could be read';
    else if (read.some((t) => t.active)) text = 'no active trigger has a queue above 0';
    else text = 'no trigger is active';
  }
  else if (read.filter((t) => t.active).length === 1 || mode === 'max' || mode === 'min') text = parts.join(', ');
  else text = `${mode} of ${parts.join(', ')}`;
  if (!p.active && min > 0) text += `; active because minReplicaCount is ${min}`;
  return text;
}
