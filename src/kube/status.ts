// Status goes through the status subresource with the resourceVersion we read (optimistic concurrency).
// On 409 another writer changed the object since our read: the fresh object is re-read and only what
// this pass changed (against the status it read) is laid over it, so the other writer's fields stay.
// The same for every kind of scaled resource.
import { ApiError, type KubeRest } from './rest.ts';
import { objectPath, statusPath, type ScaledResource, type ScaledKind } from './resources.ts';
import { mergeOwnChanges, statusChanged, type MergeableStatus } from '../scaling/status-merge.ts';

export { statusChanged };

/**
 * Replace the status with `next` (fields absent in `next` are removed). On conflict, re-read and write
 * `next`'s changes against `obj.status` over the fresh status, up to `attempts` times.
 * Returns false when, on the fresh object, there was nothing left to write.
 */
export async function writeStatus<K extends ScaledKind, Spec, S extends MergeableStatus>(
  rest: KubeRest, obj: ScaledResource<K, Spec, S>, next: S, attempts = 3, signal?: AbortSignal,
): Promise<boolean> {
  let current = obj;
  let status = next;
  for (let i = 0; ; i++) {
    try {
      await rest.put(statusPath(obj.kind, obj.metadata), { ...current, status }, { signal });
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409) || i + 1 >= attempts) throw e;
      current = { ...await rest.get<ScaledResource<K, Spec, S>>(objectPath(obj.kind, obj.metadata), { signal }), apiVersion: obj.apiVersion, kind: obj.kind };
      status = mergeOwnChanges(obj.status ?? ({} as S), next, current.status ?? ({} as S));
      if (!statusChanged(current.status, status)) return false;
    }
  }
}
