// The HPA's tolerance (Kubernetes replica_calculator.go Tolerances), shared by every metric kind.

export interface Tolerance {
  /** allowed relative excess before scaling up */
  up: number;
  /** allowed relative shortfall before scaling down */
  down: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { up: 0.1, down: 0.1 };

/** Both edges inclusive: a ratio of exactly 1.1 with tolerance 0.1 keeps the current size. */
export function withinTolerance(ratio: number, tolerance: Tolerance): boolean {
  return 1 - tolerance.down <= ratio && ratio <= 1 + tolerance.up;
}
