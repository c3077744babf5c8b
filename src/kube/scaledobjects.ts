// ScaledObjects in scope: one LIST for the whole cluster, or one per configured namespace.
import type { KubeRest } from './rest.ts';
import { listScaled, objectPath as pathOf, statusPath as statusPathOf, type ScaledResource } from './resources.ts';
import type { ScaledObjectSpec, ScaledObjectStatus } from '../scaling/types.ts';

export type ScaledObject = ScaledResource<'ScaledObject', ScaledObjectSpec, ScaledObjectStatus>;

export async function listScaledObjects(rest: KubeRest, namespaces: string[], labelSelector?: string): Promise<{ items: ScaledObject[]; served: boolean }> {
  return listScaled<'ScaledObject', ScaledObjectSpec, ScaledObjectStatus>(rest, 'ScaledObject', namespaces, labelSelector);
}

export function statusPath(so: ScaledObject): string {
  return statusPathOf('ScaledObject', so.metadata);
}

export function objectPath(so: ScaledObject): string {
  return pathOf('ScaledObject', so.metadata);
}
