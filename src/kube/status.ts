// Status goes through the status subresource with the resourceVersion we read (optimistic concurrency).
// On 409 the object is re-read and the status re-applied, since status is recomputed from the same
// measurements and only the resourceVersion was stale.
import { ApiError, type KubeRest } from './rest.ts';
import { objectPath, statusPath, type ScaledObject } from './scaledobjects.ts';
import type { ScaledObjectStatus } from '../scaling/types.ts';

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : x);
}

export function statusChanged(before: ScaledObjectStatus | undefined, after: ScaledObjectStatus): boolean {
  return stable(before ?? {}) !== stable(after);
}

/** Replace the status (fields absent in `next` are removed), retrying once per conflict. */
export async function writeStatus(rest: KubeRest, so: ScaledObject, next: ScaledObjectStatus, attempts = 3): Promise<void> {
  let rv = so.metadata.resourceVersion;
  let current: ScaledObject = so;
  for (let i = 0; ; i++) {
    try {
      await rest.put(statusPath(current), { ...current, metadata: { ...current.metadata, resourceVersion: rv }, status: next });
      return;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409) || i + 1 >= attempts) throw e;
      current = await rest.get<ScaledObject>(objectPath(so));
      rv = current.metadata.resourceVersion;
    }
  }
}
