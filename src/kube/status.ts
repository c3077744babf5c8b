// Status goes through the status subresource with the resourceVersion we read (optimistic concurrency).
// On 409 another writer changed the object since our read: the fresh object is re-read and only what
// this pass changed (against the status it read) is laid over it, so the other writer's fields stay.
import { ApiError, type KubeRest } from './rest.ts';
import { objectPath, statusPath, type ScaledObject } from './scaledobjects.ts';
import { mergeOwnChanges, statusChanged } from '../scaling/status-merge.ts';
import type { ScaledObjectStatus } from '../scaling/types.ts';

export { statusChanged };

/**
 * Replace the status with `next` (fields absent in `next` are removed). On conflict, re-read and write
 * `next`'s changes against `so.status` over the fresh status, up to `attempts` times.
 * Returns false when, on the fresh object, there was nothing left to write.
 */
export async function writeStatus(rest: KubeRest, so: ScaledObject, next: ScaledObjectStatus, attempts = 3, signal?: AbortSignal): Promise<boolean> {
  let current: ScaledObject = so;
  let status = next;
  for (let i = 0; ; i++) {
    try {
      await rest.put(statusPath(current), { ...current, status }, { signal });
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409) || i + 1 >= attempts) throw e;
      current = await rest.get<ScaledObject>(objectPath(so), { signal });
      status = mergeOwnChanges(so.status ?? {}, next, current.status ?? {});
      if (!statusChanged(current.status, status)) return false;
    }
  }
}
