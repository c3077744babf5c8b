// KEDA's cpu and memory triggers (pkg/scalers/cpu_memory_scaler.go). They are no scalers in KEDA's loop:
// KEDA hands the HPA a Resource metric (a ContainerResource one with containerName) and the HPA reads
// the pods' usage from metrics.k8s.io. Here the trigger is parsed into that metric's target; the pass
// reads the pods and their metrics, and the decision runs the HPA's formula (scaling/resource-metrics.ts).

import cpuSchema from '../../schemas/scalers/cpu.schema.json' with { type: 'json' };
import memorySchema from '../../schemas/scalers/memory.schema.json' with { type: 'json' };
import { parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError } from './types.ts';
import type { TriggerSpec } from '../scaling/types.ts';
import type { ResourceName, ResourceTarget } from '../scaling/resource-metrics.ts';
import { QUANTITY_FORMAT_ERROR, quantityMilli } from '../scaling/quantity.ts';

export interface ResourceTriggerSpec {
  resource: ResourceName;
  metricType: 'Utilization' | 'AverageValue';
  target: ResourceTarget;
  /** the target for reports: a percent, or the quantity in cores / bytes */
  targetNumber: number;
  containerName?: string;
}

const INT32 = 2 ** 31;

/** Go's strconv.ParseInt(value, 10, 32), with its error text. */
function parseInt32(value: string): number | string {
  if (!/^[+-]?\d+$/.test(value)) return `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`;
  const n = Number(value);
  if (n < -INT32 || n >= INT32) return `strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`;
  return n;
}

/** Throws ScalerConfigError naming the field, with KEDA's message ("error parsing cpu metadata: ..."). */
export function parseResourceTrigger(trigger: TriggerSpec): ResourceTriggerSpec {
  const resource = trigger.type as ResourceName;
  const fail = (field: string, message: string) => new ScalerConfigError(field, `error parsing ${resource} metadata: ${message}`);
  const metadata = trigger.metadata ?? {};
  if (metadata.type?.trim()) {
    throw fail('type', `scaler ${resource} info: The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead.`);
  }
  let p: { value: string; containerName?: string };
  try {
    p = parseParams(resource === 'cpu' ? (cpuSchema as ParamSchema) : (memorySchema as ParamSchema), { metadata, authParams: {}, resolvedEnv: {} });
  } catch (e) {
    if (e instanceof ScalerConfigError) throw fail(e.field, e.message);
    throw e;
  }
  const containerName = p.containerName || undefined;
  switch (trigger.metricType) {
    case 'Utilization': {
      const n = parseInt32(p.value);
      if (typeof n === 'string') throw fail('value', n);
      // the HPA API refuses it: autoscaling/v2 MetricTarget averageUtilization must be greater than 0
      if (n <= 0) throw fail('value', `averageUtilization ${n} must be greater than 0`);
      return { resource, metricType: 'Utilization', target: { type: 'Utilization', averageUtilization: n }, targetNumber: n, containerName };
    }
    case 'AverageValue': {
      const milli = quantityMilli(p.value);
      if (milli === undefined) throw fail('value', `${JSON.stringify(p.value)}: ${QUANTITY_FORMAT_ERROR}`);
      if (milli <= 0n) throw fail('value', `averageValue ${p.value} must be positive`);
      return { resource, metricType: 'AverageValue', target: { type: 'AverageValue', averageValueMilli: milli }, targetNumber: Number(milli) / 1000, containerName };
    }
    default:
      throw fail('metricType', `unknown metric type: ${trigger.metricType ?? ''}, allowed values are 'Utilization' or 'AverageValue'`);
  }
}
