// Trigger type -> scaler factory. One line per scaler.

import { createCronScaler } from './cron.ts';
import { createEtcdScaler } from './etcd.ts';
import { createExternalScaler } from './external.ts';
import { createKubernetesWorkloadScaler } from './kubernetes-workload.ts';
import { createMetricsApiScaler } from './metrics-api.ts';
import { createMysqlScaler } from './mysql.ts';
import { createNatsJetStreamScaler } from './nats-jetstream.ts';
import { createPostgresqlScaler } from './postgresql.ts';
import { createPrometheusScaler } from './prometheus.ts';
import { createRabbitMqScaler } from './rabbitmq.ts';
import { createRedisStreamsScaler } from './redis-streams.ts';
import { createRedisScaler } from './redis.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';
import { isResourceTrigger } from '../scaling/status.ts';

const factories = new Map<string, ScalerFactory>([
  ['cron', createCronScaler],
  ['etcd', createEtcdScaler],
  ['external', createExternalScaler],
  ['kubernetes-workload', createKubernetesWorkloadScaler],
  ['metrics-api', createMetricsApiScaler],
  ['mysql', createMysqlScaler],
  ['nats-jetstream', createNatsJetStreamScaler],
  ['postgresql', createPostgresqlScaler],
  ['prometheus', createPrometheusScaler],
  ['rabbitmq', createRabbitMqScaler],
  ['redis', createRedisScaler],
  ['redis-streams', createRedisStreamsScaler],
]);

/** Trigger types with a scaler, and cpu/memory (HPA Resource metrics, see cpu-memory.ts), sorted. */
export const supportedTriggerTypes: readonly string[] = [...factories.keys(), 'cpu', 'memory'].sort();

/** Builds the scaler for ctx.trigger. Throws ScalerConfigError naming the field on bad input. */
export function createScaler(ctx: Omit<ScalerContext, 'signal' | 'now'>): Scaler {
  const type = ctx.trigger.type;
  if (isResourceTrigger(type)) {
    // the pass reads pod metrics for these instead (measure.ts); reaching here is a wiring mistake
    throw new ScalerConfigError('type', `${type} is a resource metric read from metrics.k8s.io, not an external scaler`);
  }
  const factory = factories.get(type);
  if (!factory) {
    throw new ScalerConfigError('type', `unsupported trigger type "${type}" (supported: ${supportedTriggerTypes.join(', ')})`);
  }
  // cpu and memory are HPA Resource metrics, the only kind where Utilization means something; the CRD
  // admits any text, and KEDA's GetMetricTargetType refuses every other value but an empty one
  const metricType = ctx.trigger.metricType || undefined;
  if (metricType !== undefined && metricType !== 'AverageValue' && metricType !== 'Value') {
    throw new ScalerConfigError(
      'metricType',
      `metricType ${JSON.stringify(metricType)} is unsupported for external metrics, allowed values are "AverageValue" or "Value"`,
    );
  }
  const { metricType: _given, ...trigger } = ctx.trigger;
  return asReported(factory({ ...ctx, trigger: metricType ? { ...trigger, metricType } : trigger }));
}

/**
 * KEDA hands the HPA every external value as a milli-quantity: rounded to 3 decimals, and negative,
 * NaN or infinite values become 0. Activity was decided by the scaler on the raw value and stays.
 */
function asReported(scaler: Scaler): Scaler {
  return {
    spec: scaler.spec,
    ...(scaler.learnSpec ? { learnSpec: scaler.learnSpec.bind(scaler) } : {}),
    async measure(ctx: ScalerContext): Promise<MetricReading> {
      const r = await scaler.measure(ctx);
      const value = Number.isFinite(r.value) && r.value > 0 ? Number(r.value.toFixed(3)) : 0;
      return { value, active: r.active };
    },
    close: () => scaler.close(),
  };
}
