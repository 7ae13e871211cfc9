/**
 * Every random choice a dream makes (initial noise, jitter offsets, scales, angles) comes
 * from this one seeded generator, not from Math.random or tfjs's own random ops, so
 * `--seed 7` gives the same bytes on every run and on every worker.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number;
  /** One element of a list, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** `n` samples of Normal(mean, sd). */
  normal(n: number, mean?: number, sd?: number): Float32Array;
}

/** mulberry32: tiny, fast, and good enough for image noise and transform draws. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    normal(n, mean = 0, sd = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i += 2) {
        // Box-Muller: two independent normals per pair of uniforms.
        const u = 1 - next();
        const v = next();
        const r = Math.sqrt(-2 * Math.log(u));
        out[i] = mean + sd * r * Math.cos(2 * Math.PI * v);
        if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(2 * Math.PI * v);
      }
      return out;
    },
  };
}

/** Derive an independent stream (per filter, per batch) from the user's seed. */
export function subSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p + 0x7f4a7c15), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** A fresh seed when the user gave none (printed, so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
