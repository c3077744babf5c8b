// What every node:test suite uses to reach the real control plane and collector.
// The harness is started once per test run by test/harness/global-setup.ts (or `npm run harness:up`);
// a suite run on its own starts it too.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { up, type HarnessState } from '../harness/src/harness.ts';
import { kubeconfig } from '../harness/src/pki.ts';
import { KubeRest } from '../../src/kube/rest.ts';
import { readMetricsFile, type MetricPoint } from './otlp-file.ts';

export interface Harness {
  state: HarnessState;
  kc: KubeConfig;
  admin: KubeRest;
  /** a fresh namespace, unique per call */
  namespace(prefix: string): Promise<string>;
  /** kubeconfig file for a ServiceAccount, with a token from the TokenRequest API */
  tokenKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
  /** data points the collector wrote to its file so far, optionally filtered */
  metrics(filter?: (p: MetricPoint) => boolean): MetricPoint[];
  waitForMetrics(pred: (ps: MetricPoint[]) => boolean, timeoutMs?: number, filter?: (p: MetricPoint) => boolean): Promise<MetricPoint[]>;
  promQuery(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

let cached: Promise<Harness> | undefined;

export function harness(): Promise<Harness> {
  cached ??= make();
  return cached;
}

async function make(): Promise<Harness> {
  const { state } = await up();
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const admin = await KubeRest.fromKubeConfig(kc);
  const ca = fs.readFileSync(state.caFile, 'utf8');
  const h: Harness = {
    state, kc, admin,
    async namespace(prefix) {
      const name = `${prefix}-${crypto.randomBytes(3).toString('hex')}`.slice(0, 63);
      await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      return name;
    },
    async tokenKubeconfig(namespace, sa) {
      const tr = await admin.create<{ status: { token: string } }>(
        `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
      const file = path.join(state.dir, `sa-${namespace}-${sa}-${crypto.randomBytes(3).toString('hex')}.kubeconfig`);
      fs.writeFileSync(file, kubeconfig(state.apiserver, ca, { token: tr.status.token }, `${namespace}-${sa}`));
      return file;
    },
    metrics(filter) {
      const all = readMetricsFile(state.metricsFile);
      return filter ? all.filter(filter) : all;
    },
    async waitForMetrics(pred, timeoutMs = 15_000, filter) {
      const t0 = Date.now();
      let seen: MetricPoint[] = [];
      while (Date.now() - t0 < timeoutMs) {
        seen = h.metrics(filter);
        if (pred(seen)) return seen;
        await new Promise((r) => setTimeout(r, 200));
      }
      const names = [...new Set(seen.map((p) => p.name))].join(', ');
      throw new Error(`metrics did not arrive within ${timeoutMs} ms; ${seen.length} matching points seen (${names || 'none'}); collector log: ${state.dir}/logs/otelcol.log`);
    },
    async promQuery(q) {
      const r = await fetch(`${state.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (j.status !== 'success') throw new Error(`prometheus query failed: ${q}`);
      return j.data.result;
    },
  };
  return h;
}
