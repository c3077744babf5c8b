// What a status write changes, and how it is laid over a status someone else changed meanwhile.
// Pure: the three statuses in, one out. Any kind's status: top-level fields and typed conditions.
import type { Condition } from './types.ts';

/** a ScaledObject's or a ScaledJob's status: fields, and conditions merged per type */
export interface MergeableStatus {
  conditions?: Condition[];
}

/** Canonical JSON: key order and undefined fields do not count as a change. */
export function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : x);
}

/**
 * Equal as JSON: key order and undefined fields do not count, as with stable(), but without building
 * two canonical strings (this runs once per object per pass).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // JSON writes an undefined array element as null
    return a.every((x, i) => sameJson(x ?? null, b[i] ?? null));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    n++;
    if (!sameJson(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

export function statusChanged<S extends MergeableStatus>(before: S | undefined, after: S): boolean {
  return !sameJson(before ?? {}, after);
}

/**
 * Three-way merge: each top-level field this pass changed (read -> next) takes next's value on top of
 * `fresh`; every other field keeps fresh's. Conditions merge per type, so a condition another writer
 * added or changed survives unless this pass changed the same type.
 */
export function mergeOwnChanges<S extends MergeableStatus>(read: S, next: S, fresh: S): S {
  const out: Record<string, unknown> = { ...(fresh as Record<string, unknown>) };
  const r = read as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  for (const k of new Set([...Object.keys(r), ...Object.keys(n)])) {
    if (k === 'conditions' || stable(r[k]) === stable(n[k])) continue;
    if (n[k] === undefined) delete out[k];
    else out[k] = n[k];
  }
  const conditions = mergeConditions(read.conditions ?? [], next.conditions ?? [], fresh.conditions ?? []);
  if (conditions.length) out.conditions = conditions;
  else delete out.conditions;
  return out as S;
}

function mergeConditions(read: Condition[], next: Condition[], fresh: Condition[]): Condition[] {
  const byType = (cs: Condition[]) => new Map(cs.map((c) => [c.type, c]));
  const r = byType(read);
  const n = byType(next);
  const out = byType(fresh);
  for (const t of new Set([...r.keys(), ...n.keys()])) {
    if (stable(r.get(t)) === stable(n.get(t))) continue;
    const c = n.get(t);
    if (c) out.set(t, c);
    else out.delete(t);
  }
  // next's order first (Ready, Active, Fallback, Paused as KEDA lists them), then the others' own types
  const order = [...n.keys(), ...[...out.keys()].filter((t) => !n.has(t))];
  return order.flatMap((t) => (out.has(t) ? [out.get(t)!] : []));
}
