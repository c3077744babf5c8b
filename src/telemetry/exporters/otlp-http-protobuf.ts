// OTLP/HTTP with protobuf bodies (application/x-protobuf): the default transport. Its own chunk,
// imported by ../otlp.ts only when chosen.
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

export function createExporter(timeoutMillis: number): PushMetricExporter {
  return new OTLPMetricExporter({ timeoutMillis });
}
