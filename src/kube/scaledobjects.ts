// ScaledObjects in scope: one LIST for the whole cluster, or one per configured namespace.
import type { KubeRest } from './rest.ts';
import type { ScaledObjectSpec, ScaledObjectStatus } from '../scaling/types.ts';

export interface ScaledObject {
  apiVersion: 'keda.sh/v1alpha1';
  kind: 'ScaledObject';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation?: number;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: ScaledObjectSpec;
  status?: ScaledObjectStatus;
}

const BASE = '/apis/keda.sh/v1alpha1';

export async function listScaledObjects(rest: KubeRest, namespaces: string[], labelSelector?: string): Promise<ScaledObject[]> {
  const paths = namespaces.length ? namespaces.map((ns) => `${BASE}/namespaces/${ns}/scaledobjects`) : [`${BASE}/scaledobjects`];
  const out: ScaledObject[] = [];
  for (const path of paths) {
    let cont: string | undefined;
    do {
      const page = await rest.list<{ items: ScaledObject[]; metadata: { continue?: string } }>(path, { query: { labelSelector, limit: 500, continue: cont } });
      out.push(...page.items);
      cont = page.metadata.continue || undefined;
    } while (cont);
  }
  return out;
}

export function statusPath(so: ScaledObject): string {
  return `${BASE}/namespaces/${so.metadata.namespace}/scaledobjects/${so.metadata.name}/status`;
}

export function objectPath(so: ScaledObject): string {
  return `${BASE}/namespaces/${so.metadata.namespace}/scaledobjects/${so.metadata.name}`;
}
