import { createRng, type Rng } from '../dream/random.js';

/**
 * Training draws every random choice it makes itself (split, shuffles, augmentation) from the
 * project's one seeded generator (mulberry32, shared with dream), so `--seed` fixes all of them;
 * tfjs's own randomness (weight init) is seeded separately from the same number.
 */
export { createRng, type Rng };

/** Uniform float in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

/** Fisher–Yates, in place; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
