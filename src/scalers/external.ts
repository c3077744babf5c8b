// KEDA's external trigger: a user's own gRPC service (externalscaler.proto) says which metric to scale on,
// its target, its value and whether the workload should be active.
//
// The protocol is carried below as a protobufjs JSON descriptor rather than read from
// externalscaler.proto: the bundled dist/ has no .proto file to read, and a descriptor needs neither a
// build-time loader nor a text import that Node cannot run from source. The integration test checks
// that the descriptor and the .proto file agree.
//
// The metric name and target come from GetMetricSpec, a step of its own (learnSpec) before each measure():
// the `spec` object is updated in place then, and holds `s<i>-external` with target 0 until it succeeds.
//
// Channels are shared, as in KEDA's connection pool: every trigger of the pass that names the same
// address and TLS settings uses one HTTP/2 connection, opened on first use and closed when the last
// scaler using it is closed.

import { createHash } from 'node:crypto';
import { createSecureContext, rootCertificates } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { fromJSON } from '@grpc/proto-loader';
import schema from '../../schemas/scalers/external.schema.json' with { type: 'json' };
import { redact } from './http.ts';
import { commonJsExports, lazyModule } from './lazy-module.ts';
import { metricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type MetricSpec, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';

interface ExternalParams {
  scalerAddress: string;
  enableTLS: boolean;
  unsafeSsl: boolean;
  caCert?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
}

/** externalscaler.proto, as protobufjs' Root.toJSON() renders it. */
export const EXTERNAL_SCALER_DESCRIPTOR = {
  nested: {
    externalscaler: {
      options: { go_package: '.;externalscaler' },
      nested: {
        ExternalScaler: {
          methods: {
            IsActive: { requestType: 'ScaledObjectRef', responseType: 'IsActiveResponse' },
            StreamIsActive: { requestType: 'ScaledObjectRef', responseType: 'IsActiveResponse', responseStream: true },
            GetMetricSpec: { requestType: 'ScaledObjectRef', responseType: 'GetMetricSpecResponse' },
            GetMetrics: { requestType: 'GetMetricsRequest', responseType: 'GetMetricsResponse' },
          },
        },
        ScaledObjectRef: {
          fields: {
            name: { type: 'string', id: 1 },
            namespace: { type: 'string', id: 2 },
            scalerMetadata: { keyType: 'string', type: 'string', id: 3 },
          },
        },
        IsActiveResponse: { fields: { result: { type: 'bool', id: 1 } } },
        GetMetricSpecResponse: { fields: { metricSpecs: { rule: 'repeated', type: 'MetricSpec', id: 1 } } },
        MetricSpec: {
          fields: {
            metricName: { type: 'string', id: 1 },
            targetSize: { type: 'int64', id: 2 },
            targetSizeFloat: { type: 'double', id: 3 },
          },
        },
        GetMetricsRequest: {
          fields: {
            scaledObjectRef: { type: 'ScaledObjectRef', id: 1 },
            metricName: { type: 'string', id: 2 },
          },
        },
        GetMetricsResponse: { fields: { metricValues: { rule: 'repeated', type: 'MetricValue', id: 1 } } },
        MetricValue: {
          fields: {
            metricName: { type: 'string', id: 1 },
            metricValue: { type: 'int64', id: 2 },
            metricValueFloat: { type: 'double', id: 3 },
          },
        },
      },
    },
  },
};

interface ScaledObjectRef {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}
interface ProtoMetricSpec {
  metricName: string;
  targetSize: number;
  targetSizeFloat: number;
}
interface ProtoMetricValue {
  metricName: string;
  metricValue: number;
  metricValueFloat: number;
}
interface Calls {
  GetMetricSpec: [ScaledObjectRef, { metricSpecs: ProtoMetricSpec[] }];
  GetMetrics: [{ scaledObjectRef: ScaledObjectRef; metricName: string }, { metricValues: ProtoMetricValue[] }];
  IsActive: [ScaledObjectRef, { result: boolean }];
}

// int64 as a JS number: targets and queue lengths stay far below 2^53
const PROTO_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
let methods: grpc.ServiceDefinition | undefined;
const grpcLibs = lazyModule(async () => ({ grpc: commonJsExports(await import('@grpc/grpc-js')), loader: commonJsExports(await import('@grpc/proto-loader')) }));
type GrpcLibs = Awaited<ReturnType<typeof grpcLibs.load>>;

function method(libs: GrpcLibs, name: keyof Calls): grpc.MethodDefinition<object, object> {
  // protobufjs' typings demand a `comment` on every method and know no map fields, unlike its own toJSON()
  const descriptor = EXTERNAL_SCALER_DESCRIPTOR as unknown as Parameters<typeof fromJSON>[0];
  methods ??= libs.loader.fromJSON(descriptor, PROTO_OPTIONS)['externalscaler.ExternalScaler'] as grpc.ServiceDefinition;
  return methods[name]!;
}

// KEDA dials with round_robin so a headless Service spreads calls over all of its pods
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
};

interface Pooled {
  client: grpc.Client;
  users: number;
}
const pool = new Map<string, Pooled>();

export const createExternalScaler: ScalerFactory = (ctx) => {
  const metadata = ctx.trigger.metadata ?? {};
  const p = parseParams<ExternalParams>(schema as ParamSchema, { metadata, authParams: ctx.authParams, resolvedEnv: ctx.resolvedEnv });
  // KEDA sends a client certificate only when both halves are given, and any TLS material turns TLS on
  const clientPair = p.tlsClientCert && p.tlsClientKey ? { cert: p.tlsClientCert, key: p.tlsClientKey } : undefined;
  const useTls = p.enableTLS || !!clientPair || !!p.caCert;
  const ca = p.caCert ? `${rootCertificates.join('\n')}\n${p.caCert}` : undefined;
  if (useTls) {
    try {
      createSecureContext({ cert: clientPair?.cert, key: clientPair?.key, ca });
    } catch {
      // the PEM itself is never echoed: it may be a private key
      throw new ScalerConfigError('tlsClientCert', 'parameters "tlsClientCert", "tlsClientKey" and "caCert" must be valid PEM (a matching certificate and key)');
    }
  }
  const secrets = [p.tlsClientKey ?? ''];
  const address = p.scalerAddress;
  const poolKey = createHash('sha256')
    .update(JSON.stringify([address, useTls, p.unsafeSsl, p.caCert ?? '', clientPair?.cert ?? '', clientPair?.key ?? '']))
    .digest('hex');

  const ref: ScaledObjectRef = { name: ctx.scaledObjectName, namespace: ctx.namespace, scalerMetadata: scalerMetadata(metadata, ctx.resolvedEnv) };
  const unknown = { metricName: metricName(ctx.triggerIndex, 'external'), target: 0 };
  const spec: MetricSpec = { ...unknown, metricType: ctx.trigger.metricType ?? 'AverageValue', activationTarget: 0 };
  /** the scaler's own name for the metric, from the last GetMetricSpec that succeeded */
  let learned: string | undefined;
  let lease: Pooled | undefined;

  const acquire = ({ grpc }: GrpcLibs): grpc.Client => {
    if (lease) return lease.client;
    let pooled = pool.get(poolKey);
    if (!pooled) {
      const creds = useTls
        ? grpc.credentials.createSsl(
            ca ? Buffer.from(ca) : null,
            clientPair ? Buffer.from(clientPair.key) : null,
            clientPair ? Buffer.from(clientPair.cert) : null,
            p.unsafeSsl ? { rejectUnauthorized: false } : {},
          )
        : grpc.credentials.createInsecure();
      pooled = { client: new grpc.Client(address, creds, CHANNEL_OPTIONS), users: 0 };
      pool.set(poolKey, pooled);
    }
    pooled.users++;
    lease = pooled;
    return pooled.client;
  };

  const call = async <M extends keyof Calls>(name: M, request: Calls[M][0], signal: AbortSignal): Promise<Calls[M][1]> => {
    const libs = await grpcLibs.load();
    const client = acquire(libs);
    const m = method(libs, name);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => reject(new Error(redact(`error calling external scaler ${address}: ${name}: ${why}`, secrets)));
      if (signal.aborted) return fail(`aborted (${reasonText(signal.reason)})`);
      const onAbort = (): void => unary.cancel();
      const unary = client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, (err, res) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) fail(`aborted (${reasonText(signal.reason)})`);
        else if (err) fail(`${libs.grpc.status[err.code] ?? err.code}: ${tidy(err.details)}`);
        else resolve(res as Calls[M][1]);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  return {
    spec,
    async learnSpec(m: ScalerContext): Promise<void> {
      // a failed or refused answer leaves the spec unknown rather than stale: a value is never read
      // against a target the scaler no longer states
      learned = undefined;
      Object.assign(spec, unknown);
      const { metricSpecs } = await call('GetMetricSpec', ref, m.signal);
      const chosen = pickSpec(metricSpecs, address);
      const target = chosen.targetSizeFloat > 0 ? chosen.targetSizeFloat : chosen.targetSize;
      if (!(target > 0) && !ctx.asMetricSource) {
        throw new Error(`external scaler ${address} returned metric "${chosen.metricName}" without a target: targetSizeFloat or targetSize must be greater than 0`);
      }
      spec.metricName = metricName(ctx.triggerIndex, chosen.metricName);
      spec.target = target;
      learned = chosen.metricName;
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      if (learned === undefined) {
        throw new Error(`external scaler ${address}: the metric to read is not known: learnSpec (GetMetricSpec) must succeed before measure`);
      }
      // the scaler is asked by its own name, without the s<i>- prefix
      const { metricValues } = await call('GetMetrics', { scaledObjectRef: ref, metricName: learned }, m.signal);
      if (metricValues.length === 0) {
        throw new Error(`external scaler ${address} returned no value for metric "${learned}"`);
      }
      // the HPA sums every value KEDA returns for one metric, and KEDA reports a negative one as 0
      const value = metricValues.reduce((sum, v) => sum + nonNegative(v.metricValueFloat > 0 ? v.metricValueFloat : v.metricValue), 0);

      const { result } = await call('IsActive', ref, m.signal);
      return { value, active: result };
    },
    async close(): Promise<void> {
      const held = lease;
      lease = undefined;
      if (!held || --held.users > 0) return;
      if (pool.get(poolKey) === held) pool.delete(poolKey);
      held.client.close();
    },
  } satisfies Scaler;
};

/**
 * The trigger metadata as KEDA forwards it: every key, `…FromEnv` keys carrying the env value they name
 * (dropped when that is unset or empty). Authentication parameters are never sent.
 */
function scalerMetadata(metadata: Record<string, string>, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key.endsWith('FromEnv')) {
      const resolved = env[value];
      if (resolved) out[key] = resolved;
    } else out[key] = value;
  }
  return out;
}

/**
 * One trigger is one metric here. KEDA would make an HPA metric of every spec returned; scaling on the
 * first alone would silently ignore the rest, so several specs are refused instead.
 */
function pickSpec(specs: ProtoMetricSpec[], address: string): ProtoMetricSpec {
  if (specs.length === 0) throw new Error(`external scaler ${address} returned no metric spec (GetMetricSpec): got empty metric spec`);
  if (specs.length > 1) {
    const names = specs.map((s) => `"${s.metricName}"`).join(', ');
    throw new Error(`external scaler ${address} returned ${specs.length} metric specs (${names}); scalepass scales on one metric per trigger`);
  }
  return specs[0]!;
}

function nonNegative(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}

/** grpc-js repeats its connection summary per balancing layer and may end on an empty resolution note. */
function tidy(details: string): string {
  return details
    .replace(/(No connection established\. Last error: )+/g, '$1')
    .replace(/^round_robin: /, '')
    .replace(/\.?\s*Resolution note:\s*$/, '');
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'signal' : String(reason);
}
