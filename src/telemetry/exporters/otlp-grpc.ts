// OTLP/gRPC (protobuf over HTTP/2), for OTEL_EXPORTER_OTLP_PROTOCOL=grpc. Its own chunk, imported by
// ../otlp.ts only when chosen. timeoutMillis becomes the call's deadline; this exporter does not
// retry, so a refused or unanswered call fails within it.
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

export function createExporter(timeoutMillis: number): PushMetricExporter {
  return new OTLPMetricExporter({ timeoutMillis });
}
