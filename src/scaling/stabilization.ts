// The HPA keeps one recommendation per sync (every 15 s) and looks back over a window. Writing a new
// entry each pass would change the status every pass, so the history here records only changes.
//
// Representation: entries sorted by time; an entry says "from `time` on, the recommendation was
// `replicas`", until the next entry's time. The last entry is still in force: it is what the previous
// passes recommended. The history is a step function of time, and a recommendation is inside a window
// (now - W, now] iff its step reaches into it:
//   - an entry that was superseded counts iff the time it was superseded is after now - W;
//   - the last entry counts iff W > 0 (it was in force up to the previous pass).
// A quiet pass, whose proposal equals the last entry, leaves the history untouched.
//
// Compared with the HPA sampling every 15 s, a value is held at most one pass longer: we cannot know
// when between two passes it changed, so we take the later bound. For scale-down that errs toward
// keeping pods; for a scale-up window it is what the continuously sampling HPA sees anyway (the old,
// lower value was still being recommended until the pass that saw the new one).
//
// The history exists only while the formula governs the target; a pass whose metrics failed leaves it
// untouched, as the HPA does. Anything else (resting at 0/idle, paused, a spec the checks reject)
// drops it, because the last entry cannot say when it stopped being in force. When the formula runs again and first proposes fewer replicas than the target has, the
// history is seeded with the current replicas, as the HPA controller seeds an HPA it first sees: after
// a gap, the first move down waits one window for fresh evidence.

import type { Recommendation } from './types.ts';
import { formatTime, parseTime } from './time.ts';

interface Step {
  at: number;
  replicas: number;
  /** the stored text, kept as it was so an unchanged history is written back unchanged */
  time: string;
}

function steps(history: readonly Recommendation[]): Step[] {
  const parsed: Step[] = [];
  for (const entry of history) {
    const at = parseTime(entry.time);
    if (at !== undefined && Number.isFinite(entry.replicas)) parsed.push({ at, replicas: entry.replicas, time: entry.time });
  }
  return parsed.sort((a, b) => a.at - b.at);
}

/** the end of each step: when it was superseded, or now for the one still in force */
function stepEnds(list: readonly Step[], now: number): number[] {
  return list.map((_, i) => list[i + 1]?.at ?? now);
}

export function seedHistory(currentReplicas: number, now: number): Recommendation[] {
  return [{ time: formatTime(now), replicas: currentReplicas }];
}

export interface WindowExtremes {
  /** smallest of the proposal and the recommendations in the window (bounds a scale-up) */
  min: number;
  /** largest of the proposal and the recommendations in the window (bounds a scale-down) */
  max: number;
}

export function extremesWithin(
  history: readonly Recommendation[],
  proposal: number,
  now: number,
  windowS: number,
): WindowExtremes {
  let min = proposal;
  let max = proposal;
  if (windowS <= 0) return { min, max };
  const cutoff = now - windowS * 1000;
  const list = steps(history);
  const ends = stepEnds(list, now);
  list.forEach((step, i) => {
    const end = ends[i] ?? now;
    if (i === list.length - 1 || end > cutoff) {
      min = Math.min(min, step.replicas);
      max = Math.max(max, step.replicas);
    }
  });
  return { min, max };
}

/**
 * Adds the proposal when it differs from the recommendation in force, then drops entries whose step
 * ended before the longest window: they can never count again, and the status stays small.
 */
export function recordRecommendation(
  history: readonly Recommendation[],
  proposal: number,
  now: number,
  longestWindowS: number,
): Recommendation[] {
  const list = steps(history);
  if (list[list.length - 1]?.replicas !== proposal) list.push({ at: now, replicas: proposal, time: formatTime(now) });
  const cutoff = now - longestWindowS * 1000;
  const ends = stepEnds(list, now);
  const kept = list.filter((_, i) => i === list.length - 1 || (ends[i] ?? now) > cutoff);
  return kept.map((s) => ({ time: s.time, replicas: s.replicas }));
}
