// The HPA state a pass carries to the next one (recommendation history for the stabilization windows,
// recent scale changes for the rate policies) lives in one annotation on the ScaledObject, not in its
// status: KEDA's own CRDs, which a cluster that once ran KEDA keeps, prune status fields they do not
// know, so history kept there would be dropped on every write (every pass would then rewrite every
// status, and downscale stabilization would silently stop working). Annotations survive any schema.
// Pure: what is read from the object in, what to write out.
import type { Recommendation, ScaleChange, ScaledObjectStatus } from './types.ts';
import { stable } from './status-merge.ts';

export const HPA_HISTORY_ANNOTATION = 'scalepass.dev/hpa-history';

export interface HpaHistory {
  recommendations?: Recommendation[];
  scaleEvents?: ScaleChange[];
}

/** The status without the history fields (what KEDA's status schema keeps). */
export function kedaStatus(status: ScaledObjectStatus): ScaledObjectStatus {
  const { recommendations: _r, scaleEvents: _e, ...rest } = status;
  return rest;
}

function validTime(t: unknown): t is string {
  return typeof t === 'string' && !Number.isNaN(Date.parse(t));
}

/** The entries of `v` with a valid time and a whole `field` (at least `min`), each with only time and field. */
function entries<K extends string>(v: unknown, field: K, min = -Infinity): ({ time: string } & Record<K, number>)[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out = v.flatMap((e) => {
    const r = e as Record<string, unknown> | null;
    const n = r?.[field];
    return r && typeof r === 'object' && validTime(r.time) && Number.isInteger(n) && (n as number) >= min
      ? [{ time: r.time, [field]: n } as { time: string } & Record<K, number>] : [];
  });
  return out.length ? out : undefined;
}

const recommendationsOf = (v: unknown): Recommendation[] | undefined => entries(v, 'replicas', 0);
const changesOf = (v: unknown): ScaleChange[] | undefined => entries(v, 'change');

/**
 * The history the previous pass left: the annotation, or — for an object last written by a scalepass
 * that kept it in status (on a CRD that preserves it) — the status fields. An annotation that is not
 * what scalepass writes (edited by hand) counts as no history, as after an HPA controller restart:
 * the entries it can still read are kept, the rest dropped.
 */
export function readHpaHistory(annotations: Record<string, string> | undefined, status: ScaledObjectStatus | undefined): HpaHistory {
  const text = annotations?.[HPA_HISTORY_ANNOTATION];
  if (text === undefined) return { recommendations: recommendationsOf(status?.recommendations), scaleEvents: changesOf(status?.scaleEvents) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  const o = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  return { recommendations: recommendationsOf(o.recommendations), scaleEvents: changesOf(o.scaleEvents) };
}

/** The annotation's value for this history; undefined when there is none to keep (the annotation is removed). */
export function hpaHistoryValue(h: HpaHistory): string | undefined {
  const recommendations = recommendationsOf(h.recommendations);
  const scaleEvents = changesOf(h.scaleEvents);
  if (!recommendations && !scaleEvents) return undefined;
  return JSON.stringify({ recommendations, scaleEvents });
}

/** The merge-patch that brings the annotation from what was read to `next`, or undefined when it is unchanged. */
export function hpaHistoryPatch(annotations: Record<string, string> | undefined, next: HpaHistory): { metadata: { annotations: Record<string, string | null> } } | undefined {
  const before = annotations?.[HPA_HISTORY_ANNOTATION];
  const after = hpaHistoryValue(next);
  if (before === after) return undefined;
  // the same history written differently (key order, by hand) is not rewritten
  if (before !== undefined && after !== undefined && stable(safeParse(before)) === stable(JSON.parse(after))) return undefined;
  return { metadata: { annotations: { [HPA_HISTORY_ANNOTATION]: after ?? null } } };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
