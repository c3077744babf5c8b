// The real helm (built by test/harness/build.sh) on charts/scalepass, with a Helm home of its own so no
// user's repositories, plugins or registry logins take part; and what a user would check after an
// uninstall: that no object of the release is left anywhere in the cluster.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import type { KubeRest } from '../../src/kube/rest.ts';
import { KUBECTL, ROOT } from './install.ts';

const run = promisify(execFile);
export const HELM = path.join(ROOT, 'test/harness/bin/helm');
export const CHART = path.join(ROOT, 'charts/scalepass');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

let home: string | undefined;
function helmEnv(): NodeJS.ProcessEnv {
  home ??= fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-helm-'));
  return {
    PATH: process.env.PATH, HOME: home,
    HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data'),
  };
}

async function exec(bin: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is not built — run \`npm run harness:build\` (bash test/harness/build.sh)`);
  try {
    const { stdout } = await run(bin, args, { maxBuffer: 64 << 20, ...(env ? { env } : {}) });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; code?: number };
    // what helm says is the test's evidence: keep it whole in the message
    throw new Error(`${path.basename(bin)} ${args.join(' ')} exited ${err.code}:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

/** helm with the given arguments; --kubeconfig first when one is given. Rejects with helm's stderr. */
export function helm(args: string[], kubeconfig?: string): Promise<string> {
  return exec(HELM, [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...args], helmEnv());
}

/** A values file (JSON is YAML) for -f: typed values, none of --set's guessing. */
export function valuesFile(values: Record<string, unknown>): string {
  const file = path.join(helmEnv().HOME!, `values-${process.hrtime.bigint()}.json`);
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

export function parseDocs(text: string): K8sObject[] {
  return loadAll(text).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

/** `helm template` of the chart as release `release` in `namespace`, parsed. */
export async function helmTemplate(release: string, namespace: string, values: Record<string, unknown> = {}, extra: string[] = []): Promise<K8sObject[]> {
  return parseDocs(await helm(['template', release, CHART, '--namespace', namespace, '-f', valuesFile(values), ...extra]));
}

/** `kubectl kustomize` of a directory under kustomize/, parsed (the real kubectl, no cluster needed). */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  return parseDocs(await exec(KUBECTL, ['kustomize', path.join(ROOT, 'kustomize', dir)]));
}

interface ApiResourceList { groupVersion: string; resources: { name: string; namespaced: boolean; kind: string; verbs: string[] }[] }

/**
 * Every object in the cluster that carries `selector`, over every kind the apiserver serves that a chart
 * could create (listable and creatable; subresources left out), namespaced ones across all namespaces.
 */
export async function objectsLabelled(admin: KubeRest, selector: string): Promise<string[]> {
  const groups = await admin.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>('/apis');
  const lists: ApiResourceList[] = [await admin.get<ApiResourceList>('/api/v1')];
  for (const g of groups.groups) {
    // aggregated APIs (metrics.k8s.io) store nothing and answer only while their server is up
    if (g.preferredVersion.groupVersion.startsWith('metrics.k8s.io/')) continue;
    lists.push(await admin.get<ApiResourceList>(`/apis/${g.preferredVersion.groupVersion}`));
  }
  const found: string[] = [];
  for (const l of lists) {
    const base = l.groupVersion === 'v1' ? '/api/v1' : `/apis/${l.groupVersion}`;
    for (const r of l.resources) {
      if (r.name.includes('/') || !r.verbs.includes('list') || !r.verbs.includes('create')) continue;
      const items = await admin.list<{ items: { metadata: { name: string; namespace?: string } }[] }>(`${base}/${r.name}`, { query: { labelSelector: selector } });
      for (const i of items.items) found.push(`${r.kind} ${i.metadata.namespace ? `${i.metadata.namespace}/` : ''}${i.metadata.name}`);
    }
  }
  return found.sort();
}
