// OTLP/HTTP with JSON bodies (application/json), for OTEL_EXPORTER_OTLP_PROTOCOL=http/json. Its own
// chunk, imported by ../otlp.ts only when chosen.
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

export function createExporter(timeoutMillis: number): PushMetricExporter {
  return new OTLPMetricExporter({ timeoutMillis });
}
