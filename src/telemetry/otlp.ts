// Which OTLP transport carries the metrics, and where to: read from the standard variables the way
// the OpenTelemetry JS exporters read them, so what we log is where the data really goes.
//
// Protocol: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL over OTEL_EXPORTER_OTLP_PROTOCOL (the spec lets a
// signal-specific option override the general one), one of `http/protobuf`, `http/json`, `grpc`.
// Unset, it is `http/protobuf`: the specification's default, what the JS SDK picks, and what KEDA's
// Go exporter (otlpmetrichttp) sends. Before this module scalepass always sent `http/json`; the
// collector's OTLP/HTTP receiver takes both encodings on the same port and path, and an OTLP/HTTP
// server must take protobuf while JSON is optional, so the new default reaches every receiver the
// old one did, and the old behaviour stays one variable away (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).
//
// Each exporter lives in its own module under ./exporters/, imported only when chosen: esbuild
// gives each its own chunk, so --help/--version load none and a pass loads one.

import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

export type Env = Record<string, string | undefined>;

/** A variable's value, trimmed; undefined when unset or blank (as the OpenTelemetry SDK reads them). */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

const PROTOCOL_VARS = ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const;

function isProtocol(v: string): v is OtlpProtocol {
  return (OTLP_PROTOCOLS as readonly string[]).includes(v);
}

/**
 * The protocol in use. A value we do not know is skipped with a warning naming its variable, as if
 * it were unset: the general variable, then the default, decide instead.
 */
export function otlpProtocol(env: Env): { protocol: OtlpProtocol; source?: string; warnings: string[] } {
  const refused: string[] = [];
  let chosen: { protocol: OtlpProtocol; source?: string } = { protocol: DEFAULT_OTLP_PROTOCOL };
  for (const name of PROTOCOL_VARS) {
    const raw = envString(env, name);
    if (raw === undefined) continue;
    const v = raw.toLowerCase();
    if (isProtocol(v)) {
      chosen = { protocol: v, source: name };
      break;
    }
    refused.push(`${name}="${raw}"`);
  }
  const using = chosen.source ? `${chosen.protocol} (from ${chosen.source})` : chosen.protocol;
  const warnings = refused.map((r) => `${r} is not one of ${OTLP_PROTOCOLS.join(', ')}; using ${using}`);
  return { ...chosen, warnings };
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Where the exporter of `protocol` sends metrics, resolved as that exporter resolves it.
 * OTLP/HTTP: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + `v1/metrics`,
 * else http://localhost:4318/v1/metrics.
 * OTLP/gRPC: either variable as is (gRPC has no per-signal path; the service name travels in the
 * request), else http://localhost:4317. Without a scheme the channel is TLS unless
 * OTEL_EXPORTER_OTLP_(METRICS_)INSECURE=true; the result names the scheme that will be used.
 */
export function metricsEndpoint(env: Env, protocol: OtlpProtocol = DEFAULT_OTLP_PROTOCOL): string {
  const specific = envString(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  const base = envString(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (protocol !== 'grpc') {
    if (specific) return specific;
    if (base) return `${base.endsWith('/') ? base : `${base}/`}v1/metrics`;
    return 'http://localhost:4318/v1/metrics';
  }
  const target = specific ?? base ?? 'http://localhost:4317';
  if (HAS_SCHEME.test(target)) return target;
  const insecure = (envString(env, 'OTEL_EXPORTER_OTLP_METRICS_INSECURE') ?? envString(env, 'OTEL_EXPORTER_OTLP_INSECURE'))?.toLowerCase() === 'true';
  return `${insecure ? 'http' : 'https'}://${target}`;
}

/**
 * A hint when the endpoint's port is the conventional port of the other transport (4317 gRPC,
 * 4318 HTTP): the export would fail with an error that does not say why.
 */
export function portMismatch(protocol: OtlpProtocol, endpoint: string): string | undefined {
  let port: string;
  try {
    port = new URL(endpoint).port;
  } catch {
    return undefined;
  }
  if (protocol === 'grpc' && port === '4318') {
    return `the OTLP endpoint uses port 4318, the collector's OTLP/HTTP port, but the protocol is grpc (OTLP/gRPC listens on 4317)`;
  }
  if (protocol !== 'grpc' && port === '4317') {
    return `the OTLP endpoint uses port 4317, the collector's OTLP/gRPC port, but the protocol is ${protocol} (OTLP/HTTP listens on 4318); set OTEL_EXPORTER_OTLP_PROTOCOL=grpc to use gRPC`;
  }
  return undefined;
}

/** Imports the one exporter the protocol needs and builds it; the rest of its settings come from the env. */
export async function loadOtlpExporter(protocol: OtlpProtocol, timeoutMillis: number): Promise<PushMetricExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return (await import('./exporters/otlp-http-protobuf.ts')).createExporter(timeoutMillis);
    case 'http/json':
      return (await import('./exporters/otlp-http-json.ts')).createExporter(timeoutMillis);
    case 'grpc':
      return (await import('./exporters/otlp-grpc.ts')).createExporter(timeoutMillis);
  }
}
