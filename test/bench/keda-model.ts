// A model of KEDA + the HPA's loops, not a measurement: when would the first replica and the full count
// come for work that arrives at a given moment? KEDA polls each ScaledObject every pollingInterval at
// its own phase and scales 0 -> 1 on the first poll that sees the work; from then the HPA, synced every
// 15 s at its own phase, scales up to max(2 x current, 4) per sync (no behavior) until the metric's
// count. Phases are drawn at random for each arrival, many times, from a seeded generator.

export interface LoopModel {
  pollingIntervalS: number;
  hpaSyncS: number;
  /** replicas the metric asks for: items / listLength, capped by maxReplicaCount */
  wanted: number;
  samplesPerArrival: number;
  seed: number;
}

/** mulberry32: small, seeded, good enough to draw phases */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first tick of a loop with this period and phase at or after t (seconds). */
function nextTick(t: number, period: number, phase: number): number {
  return phase + Math.ceil((t - phase) / period) * period;
}

/** For each arrival (seconds) and sample: seconds to the first replica and to the full count. */
export function kedaReaction(arrivalsS: readonly number[], m: LoopModel): { first: number[]; full: number[] } {
  const rand = rng(m.seed);
  const first: number[] = [];
  const full: number[] = [];
  for (const a of arrivalsS) {
    for (let k = 0; k < m.samplesPerArrival; k++) {
      const activated = nextTick(a, m.pollingIntervalS, rand() * m.pollingIntervalS);
      first.push(activated - a);
      const hpaPhase = rand() * m.hpaSyncS;
      // the HPA's first sync strictly after the activation sees 1 replica
      let t = nextTick(activated, m.hpaSyncS, hpaPhase);
      if (t === activated) t += m.hpaSyncS;
      let replicas = 1;
      for (;;) {
        replicas = Math.min(m.wanted, Math.max(2 * replicas, 4));
        if (replicas >= m.wanted) break;
        t += m.hpaSyncS;
      }
      full.push((m.wanted > 1 ? t : activated) - a);
    }
  }
  return { first, full };
}
