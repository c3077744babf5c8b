// A thin REST client over client-node's KubeConfig: client-node resolves the credentials (kubeconfig,
// in-cluster token, exec plugins); requests go out on one keep-alive agent so a pass over thousands of
// objects reuses a handful of connections, and every request is counted by verb for the run summary.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly path: string;
  constructor(status: number, reason: string, message: string, path: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
    this.path = path;
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

/** client-go's default for retries of a response with Retry-After */
const MAX_THROTTLED_RETRIES = 10;
/** a Retry-After longer than this is waited only this long (the next attempt may be throttled again) */
const MAX_RETRY_AFTER_MS = 10_000;

/** Retry-After in whole seconds, as the apiserver sends it; undefined (no retry) when absent or not a number, as client-go. */
export function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Math.min(Number(header) * 1000, MAX_RETRY_AFTER_MS);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal!.reason as Error); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

export class KubeRest {
  readonly server: string;
  readonly counts: Record<string, number> = {};
  readonly denied: string[] = [];
  private readonly base: https.RequestOptions;
  private readonly agent: http.Agent;

  private constructor(server: string, base: https.RequestOptions, agent: http.Agent) {
    this.server = server;
    this.base = base;
    this.agent = agent;
  }

  static async fromKubeConfig(kc: KubeConfig, maxSockets = 16): Promise<KubeRest> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const secure = cluster.server.startsWith('https:');
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: !cluster.skipTLSVerify };
    const agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets, ...tls })
      : new http.Agent({ keepAlive: true, maxSockets });
    const headers = { ...(opts.headers as Record<string, string>) };
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return new KubeRest(cluster.server.replace(/\/$/, ''), { headers }, agent);
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * A 429 (API Priority and Fairness rejected the request before doing anything) is retried after its
   * Retry-After, as client-go does (up to 10 times); the wait ends early with the pass deadline (the
   * signal). The retries are counted as `throttled`, not as failures.
   */
  async request<T>(verb: Verb, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.send(verb, method, path, o);
      const wait = r.status === 429 && attempt < MAX_THROTTLED_RETRIES ? retryAfterMs(r.retryAfter) : undefined;
      if (wait === undefined) return this.result<T>(method, path, r);
      this.counts.throttled = (this.counts.throttled ?? 0) + 1;
      await sleep(wait, o.signal);
    }
  }

  private async send(verb: Verb, method: string, path: string, o: RequestOptions): Promise<{ status: number; text: string; retryAfter?: string }> {
    this.counts[verb] = (this.counts[verb] ?? 0) + 1;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = { ...(this.base.headers as Record<string, string>), accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = o.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, signal: o.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const retryAfter = res.headers['retry-after'];
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private result<T>(method: string, path: string, { status, text }: { status: number; text: string }): T {
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
    let reason = '';
    let message = text.slice(0, 500);
    try {
      const st = JSON.parse(text) as { reason?: string; message?: string };
      reason = st.reason ?? '';
      message = st.message ?? message;
    } catch {
      /* not a Status object */
    }
    if (status === 403) this.denied.push(`${method} ${path}`);
    throw new ApiError(status, reason, `${method} ${path}: ${status} ${reason} ${message}`.trim(), path);
  }

  get<T>(path: string, o?: RequestOptions) { return this.request<T>('get', 'GET', path, o); }
  list<T>(path: string, o?: RequestOptions) { return this.request<T>('list', 'GET', path, o); }
  create<T>(path: string, body: unknown, o?: RequestOptions) { return this.request<T>('create', 'POST', path, { ...o, body }); }
  put<T>(path: string, body: unknown, o?: RequestOptions) { return this.request<T>('update', 'PUT', path, { ...o, body }); }
  delete<T>(path: string, o?: RequestOptions) { return this.request<T>('delete', 'DELETE', path, o); }
  mergePatch<T>(path: string, body: unknown, o?: RequestOptions) {
    return this.request<T>('patch', 'PATCH', path, { ...o, body, contentType: 'application/merge-patch+json' });
  }
  applyPatch<T>(path: string, body: unknown, fieldManager: string, o?: RequestOptions) {
    return this.request<T>('patch', 'PATCH', path, {
      ...o, body, contentType: 'application/apply-patch+yaml', query: { ...o?.query, fieldManager, force: 'true' },
    });
  }
}
