import { type Pixels } from './baselines.js';

/**
 * Noisy linear imputation (Rong et al., "A Consistent and Efficient Evaluation Strategy for
 * Attribution Methods", ICML 2022, the ROAD benchmark). Removed pixels are replaced by the
 * weighted mean of their 8 neighbours, direct neighbours weighing 1/6 and diagonal ones 1/12
 * (renormalised at the border), which for all removed pixels together is the sparse linear
 * system ROAD solves; then Gaussian noise is added to the removed pixels. Unlike a constant
 * fill, the imputed values carry no trace of the removal pattern's shape, so the model cannot
 * read the map from the mask's edges.
 *
 * ROAD solves the system exactly (scipy spsolve). Here it is solved by cascadic multigrid,
 * which is where the speed comes from (`cam --evaluate` imputes 18 images per map per photo):
 *  1. the image is averaged up a 2x pyramid: a coarse cell is known if any of its 4 children
 *     is, with their known values' mean, so holes shrink by half per level;
 *  2. on the coarsest level (at most 4x4, or the first without holes) the unknown cells start
 *     at the known mean and are relaxed to convergence;
 *  3. going down, each level's unknown cells start from the bilinear interpolation of the
 *     level above and get successive over-relaxation sweeps of ROAD's equations (the
 *     coarse levels carry the low frequencies that Gauss-Seidel alone would need thousands of
 *     sweeps to spread into a large hole); the finest level gets `sweeps` plain Gauss-Seidel
 *     sweeps, which settle the detail: a removed pixel whose neighbours are all known ends
 *     exactly at their weighted mean, two neighbouring ones within (1/36)^sweeps.
 * The fixed point of the finest sweeps is ROAD's solution; docs/cam.md gives the measured gap
 * to the converged one.
 */

export interface ImputeOptions {
  /** Sweeps on the finest level (default 3); every coarser level gets twice as many as the one below, up to 16. */
  sweeps?: number;
  /** Over-relaxation factor on the coarse levels, 1 = Gauss-Seidel (default 1.6). */
  omega?: number;
  /** The same on the finest level (default 1). */
  fineOmega?: number;
  /** Added to each removed value (one per value, the image's layout); ROAD's noise. */
  noise?: Float32Array;
  /** Write the result here (the image's size) instead of a new array. */
  out?: Float32Array;
}

const DIRECT = 1 / 6;
const DIAGONAL = 1 / 12;

interface Level {
  width: number;
  height: number;
  /** height * width * c values; unknown cells hold the current estimate. */
  values: Float32Array;
  /** The unknown cells, in raster order. */
  unknown: Int32Array;
}

/** The 2x coarser level: a cell is known if any child is, at the known children's mean. */
function coarser(level: Level, c: number, known: Uint8Array): { level: Level; known: Uint8Array } {
  const { width, height, values } = level;
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const sums = new Float64Array(w * h * c);
  const counts = new Float64Array(w * h);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (!known[p]) continue;
      const q = (y >> 1) * w + (x >> 1);
      counts[q]++;
      for (let k = 0; k < c; k++) sums[q * c + k] += values[p * c + k];
    }
  }
  const out = new Float32Array(w * h * c);
  const isKnown = new Uint8Array(w * h);
  let holes = 0;
  for (let q = 0; q < w * h; q++) {
    if (counts[q] === 0) {
      holes++;
      continue;
    }
    isKnown[q] = 1;
    for (let k = 0; k < c; k++) out[q * c + k] = sums[q * c + k] / counts[q];
  }
  const unknown = new Int32Array(holes);
  for (let q = 0, i = 0; q < w * h; q++) if (!isKnown[q]) unknown[i++] = q;
  return { level: { width: w, height: h, values: out, unknown }, known: isKnown };
}

/** One relaxation step at a border cell: its in-grid neighbours' weighted mean. */
function borderMean(v: Float32Array, width: number, height: number, c: number, p: number, k: number): number {
  const x = p % width;
  const y = (p - x) / width;
  let s = 0;
  let total = 0;
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if ((dx === 0 && dy === 0) || xx < 0 || xx >= width) continue;
      const wt = dx !== 0 && dy !== 0 ? DIAGONAL : DIRECT;
      s += wt * v[(yy * width + xx) * c + k];
      total += wt;
    }
  }
  return s / total;
}

/** `sweeps` SOR sweeps of ROAD's equations over the level's unknown cells (the last one at `lastOmega`). */
function relax(level: Level, c: number, sweeps: number, omega: number, lastOmega: number): void {
  const { width, height, values: v, unknown } = level;
  const row = width * c;
  // Interior cells (all 8 neighbours in the grid) take the fast path; the border ones renormalise.
  const interior = new Int32Array(unknown.length);
  const border = new Int32Array(unknown.length);
  let ni = 0;
  let nb = 0;
  for (let i = 0; i < unknown.length; i++) {
    const p = unknown[i];
    const x = p % width;
    if (x > 0 && x < width - 1 && p >= width && p < (height - 1) * width) interior[ni++] = p * c;
    else border[nb++] = p;
  }
  for (let s = 0; s < sweeps; s++) {
    const w = s === sweeps - 1 ? lastOmega : omega;
    for (let i = 0; i < ni; i++) {
      for (let j = interior[i], e = j + c; j < e; j++) {
        const mean = DIRECT * (v[j - c] + v[j + c] + v[j - row] + v[j + row]) + DIAGONAL * (v[j - row - c] + v[j - row + c] + v[j + row - c] + v[j + row + c]);
        v[j] += w * (mean - v[j]);
      }
    }
    for (let i = 0; i < nb; i++) {
      const p = border[i];
      for (let k = 0; k < c; k++) v[p * c + k] += w * (borderMean(v, width, height, c, p, k) - v[p * c + k]);
    }
  }
}

/** Where a fine row or column falls between two coarse ones (half-pixel centres, factor 2): the pair and the weight of the second. */
function taps(fine: number, coarse: number): { lo: Int32Array; hi: Int32Array; w: Float32Array } {
  const lo = new Int32Array(fine);
  const hi = new Int32Array(fine);
  const w = new Float32Array(fine);
  for (let x = 0; x < fine; x++) {
    const f = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), coarse - 1);
    lo[x] = Math.floor(f);
    hi[x] = Math.min(lo[x] + 1, coarse - 1);
    w[x] = f - lo[x];
  }
  return { lo, hi, w };
}

/** Start the unknown cells of `fine` from the bilinear interpolation of `coarse`. */
function prolong(coarse: Level, fine: Level, c: number): void {
  const { width: cw, values: cv } = coarse;
  const cols = taps(fine.width, cw);
  const rows = taps(fine.height, coarse.height);
  const fv = fine.values;
  for (let i = 0; i < fine.unknown.length; i++) {
    const p = fine.unknown[i];
    const x = p % fine.width;
    const y = (p - x) / fine.width;
    const wx = cols.w[x];
    const wy = rows.w[y];
    const a = (rows.lo[y] * cw + cols.lo[x]) * c;
    const b = (rows.lo[y] * cw + cols.hi[x]) * c;
    const d = (rows.hi[y] * cw + cols.lo[x]) * c;
    const e = (rows.hi[y] * cw + cols.hi[x]) * c;
    for (let k = 0; k < c; k++) {
      const top = cv[a + k] + wx * (cv[b + k] - cv[a + k]);
      const bottom = cv[d + k] + wx * (cv[e + k] - cv[d + k]);
      fv[p * c + k] = top + wy * (bottom - top);
    }
  }
}

/** The image with the pixels where `removed` is non-zero imputed (see above). */
export function noisyLinearImpute(img: Pixels, removed: Uint8Array, opts: ImputeOptions = {}): Float32Array {
  const { width, height, channels: c, data } = img;
  const out = opts.out ?? new Float32Array(data.length);
  out.set(data);
  const known = new Uint8Array(removed.length);
  let count = 0;
  for (let p = 0; p < removed.length; p++) {
    if (removed[p]) count++;
    else known[p] = 1;
  }
  if (!count) return out;
  if (count === removed.length) throw new RangeError('noisyLinearImpute: every pixel is removed, nothing to impute from');
  const unknown = new Int32Array(count);
  for (let p = 0, i = 0; p < removed.length; p++) if (removed[p]) unknown[i++] = p;
  const levels: Level[] = [{ width, height, values: out, unknown }];
  let knownHere: Uint8Array = known;
  while (levels[levels.length - 1].unknown.length && (levels[levels.length - 1].width > 4 || levels[levels.length - 1].height > 4)) {
    const next = coarser(levels[levels.length - 1], c, knownHere);
    levels.push(next.level);
    knownHere = next.known;
  }
  const top = levels[levels.length - 1];
  if (top.unknown.length) {
    // The coarsest holes start at the known cells' mean and are relaxed until settled (a few cells).
    const mean = new Float64Array(c);
    let n = 0;
    for (let q = 0; q < top.width * top.height; q++) {
      if (!knownHere[q]) continue;
      n++;
      for (let k = 0; k < c; k++) mean[k] += top.values[q * c + k];
    }
    for (let i = 0; i < top.unknown.length; i++) for (let k = 0; k < c; k++) top.values[top.unknown[i] * c + k] = mean[k] / n;
    relax(top, c, 64, 1, 1);
  }
  const omega = opts.omega ?? 1.6;
  const sweeps = Math.max(1, opts.sweeps ?? 3);
  for (let l = levels.length - 2; l >= 0; l--) {
    prolong(levels[l + 1], levels[l], c);
    relax(levels[l], c, l === 0 ? sweeps : Math.min(16, sweeps << l), l === 0 ? (opts.fineOmega ?? 1) : omega, l === 0 ? 1 : omega);
  }
  if (opts.noise) {
    const noise = opts.noise;
    for (let i = 0; i < count; i++) for (let k = 0, j = unknown[i] * c; k < c; k++) out[j + k] += noise[j + k];
  }
  return out;
}
