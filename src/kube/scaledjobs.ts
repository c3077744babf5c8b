// ScaledJobs in scope, listed like ScaledObjects.
import type { KubeRest } from './rest.ts';
import { listScaled, type ScaledResource } from './resources.ts';
import type { ScaledJobSpec, ScaledJobStatus } from '../scaling/scaledjob.ts';

export type ScaledJob = ScaledResource<'ScaledJob', ScaledJobSpec, ScaledJobStatus>;

export async function listScaledJobs(rest: KubeRest, namespaces: string[], labelSelector?: string): Promise<{ items: ScaledJob[]; served: boolean }> {
  return listScaled<'ScaledJob', ScaledJobSpec, ScaledJobStatus>(rest, 'ScaledJob', namespaces, labelSelector);
}
