// KEDA's nats-jetstream trigger: how far a JetStream consumer lags behind its stream, read from the
// NATS server's monitoring endpoint (/jsz) rather than over the client protocol.

import schema from '../../schemas/scalers/nats-jetstream.schema.json' with { type: 'json' };
import { describeUrl, HttpClient, httpTimeoutMs, redact, type Secret } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory, type ScalerTelemetry } from './types.ts';

interface JetStreamParams {
  natsServerMonitoringEndpoint: string;
  account?: string;
  accountID?: string;
  stream: string;
  consumer: string;
  lagThreshold: number;
  activationLagThreshold: number;
  useHttps: boolean;
}

// the parts of the /jsz and /varz documents KEDA reads
interface Jsz {
  account_details?: Array<{ id?: string; name?: string; stream_detail?: StreamDetail[] }>;
  meta_cluster?: { cluster_size?: number };
}
interface StreamDetail {
  name?: string;
  state?: { last_seq?: number };
  consumer_detail?: Array<{ name?: string; num_pending?: number; num_ack_pending?: number; cluster?: { leader?: string } }>;
}
interface Varz {
  server_name?: string;
  connect_urls?: string[];
  cluster?: { urls?: string[] };
}

export const createNatsJetStreamScaler: ScalerFactory = (ctx) => {
  const p = parseParams<JetStreamParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  if (!p.account && !p.accountID) {
    throw new ScalerConfigError('account', 'missing required parameter "account" or "accountID" in [authentication, metadata]');
  }
  const accountID = p.accountID ?? p.account!;
  const scheme = p.useHttps ? 'https' : 'http';
  let endpoint: URL;
  try {
    endpoint = new URL(`${scheme}://${p.natsServerMonitoringEndpoint}`);
  } catch {
    throw new ScalerConfigError('natsServerMonitoringEndpoint', 'parameter "natsServerMonitoringEndpoint" must be host:port, without a scheme');
  }
  if (endpoint.pathname !== '/' || endpoint.search || endpoint.hash) {
    throw new ScalerConfigError('natsServerMonitoringEndpoint', 'parameter "natsServerMonitoringEndpoint" must be host:port, without a scheme or a path');
  }
  // Go's client turns user info in a URL into basic auth; it never travels in the URL here
  const headers: Record<string, string> = {};
  const secrets: Secret[] = [];
  if (endpoint.username || endpoint.password) {
    const user = unescape(endpoint.username);
    const password = unescape(endpoint.password);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    secrets.push(endpoint.password, { user, password });
    endpoint.username = '';
    endpoint.password = '';
  }
  // KEDA uses the global HTTP timeout here and verifies certificates always
  const client = new HttpClient({ timeoutMs: httpTimeoutMs(undefined), unsafeSsl: false });
  const jszQuery = new URLSearchParams({ acc: accountID, config: 'true', consumers: 'true' }).toString();
  const jszUrl = (host: string): URL => new URL(`${scheme}://${host}/jsz?${jszQuery}`);

  const getJson = async <T>(url: URL, signal: AbortSignal, telemetry: ScalerTelemetry | undefined): Promise<T> => {
    const res = await client.get(url, headers, signal, secrets, telemetry);
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new Error(`GET ${describeUrl(url)}: status ${res.status}, the response is not JSON`);
    }
  };

  const isAccount = (a: { id?: string; name?: string }): boolean => a.id === accountID || a.name === p.account;
  const findStream = (jsz: Jsz): StreamDetail | undefined =>
    jsz.account_details?.filter(isAccount).flatMap((a) => a.stream_detail ?? []).find((s) => s.name === p.stream);
  const findConsumer = (stream: StreamDetail | undefined) => stream?.consumer_detail?.find((c) => c.name === p.consumer);

  /**
   * In a cluster only the consumer's leader knows its lag for certain: KEDA asks /varz for the nodes
   * (advertised client URLs, else route URLs) and reads /jsz from the node that leads the consumer.
   */
  const fromLeader = async (signal: AbortSignal, telemetry: ScalerTelemetry | undefined): Promise<StreamDetail> => {
    const varz = await getJson<Varz>(new URL(`${scheme}://${endpoint.host}/varz`), signal, telemetry);
    const advertised = (varz.connect_urls ?? []).length > 0;
    const nodes = advertised ? varz.connect_urls! : (varz.cluster?.urls ?? []);
    for (const nodeUrl of nodes) {
      let node: string;
      let host: string;
      if (advertised) {
        // the client URL's host with the monitoring port
        const hostname = nodeUrl.split(':')[0]!;
        host = endpoint.port ? `${hostname}:${endpoint.port}` : hostname;
        node = (await getJson<Varz>(new URL(`${scheme}://${host}/varz`), signal, telemetry)).server_name ?? '';
      } else {
        // route URLs name pods of a headless service: <pod>.<service...>
        node = nodeUrl.split('.')[0]!;
        host = `${node}.${endpoint.host}`;
      }
      const stream = findStream(await getJson<Jsz>(jszUrl(host), signal, telemetry));
      if (findConsumer(stream)?.cluster?.leader === node) return stream!;
    }
    throw new Error(`leader node not found for consumer ${p.consumer}`);
  };

  const lag = async (signal: AbortSignal, telemetry: ScalerTelemetry | undefined): Promise<number> => {
    const jsz = await getJson<Jsz>(jszUrl(endpoint.host), signal, telemetry);
    const stream = (jsz.meta_cluster?.cluster_size ?? 0) > 1 ? await fromLeader(signal, telemetry) : findStream(jsz);
    const consumer = findConsumer(stream);
    if (consumer) return (consumer.num_pending ?? 0) + (consumer.num_ack_pending ?? 0);
    // KEDA: a consumer not created yet has the whole stream ahead of it; a stream not there has nothing
    return stream?.state?.last_seq ?? 0;
  };

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`nats-jetstream-${p.stream}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.lagThreshold,
      activationTarget: p.activationLagThreshold,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      let value: number;
      try {
        value = await lag(m.signal, m.telemetry);
      } catch (err) {
        throw new Error(redact(`error requesting NATS JetStream monitoring data: ${(err as Error).message}`, secrets));
      }
      return { value, active: value > p.activationLagThreshold };
    },
    close: () => client.close(),
  } satisfies Scaler;
};

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
