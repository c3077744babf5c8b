// Times in the status are RFC 3339 at whole seconds, as Kubernetes writes metav1.Time. The decision
// runs on the same resolution, so a time it writes back is exactly the time it compared against.

export function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** undefined for a missing or unreadable time: callers decide what "unknown" means for them */
export function parseTime(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** seconds, rounded up so a wait that is not over never reads as 0 s unless it ends exactly now */
export function secondsUntil(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/** a number as a person reads it: no trailing zeros, at most three decimals */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Math.round(n * 1000) / 1000);
}
