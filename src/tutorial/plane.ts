import { UsageError } from '../errors.js';
import { colorize, colormapLut } from '../image/colormap.js';
import { createRaster, type Raster } from '../image/raster.js';

/**
 * Float samples, interleaved and row-major like a Raster, but signed and unbounded: what a
 * convolution or pooling step produces before anything is squeezed into 8 bits.
 */
export interface Plane {
  values: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** Pixels as the tutorial's numbers: 0 (black) to 1 (full intensity). */
export function planeFromRaster(img: Raster): Plane {
  const values = new Float32Array(img.data.length);
  for (let i = 0; i < values.length; i++) values[i] = img.data[i] / 255;
  return { values, width: img.width, height: img.height, channels: img.channels };
}

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major. */
  values: Float32Array;
}

/**
 * Parse `"1,0,-1;2,0,-2;1,0,-1"`: rows split by ';', numbers by ',' (or spaces). Entries may
 * be fractions like `1/9`, so blur kernels can be written as the tutorial prints them.
 */
export function parseMatrix(text: string, flag: string): Matrix {
  const rows = text
    .trim()
    .split(';')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  const help = `write rows separated by ';' and numbers by ',', e.g. '1,0,-1;2,0,-2;1,0,-1'`;
  if (rows.length === 0) throw new UsageError(`bad ${flag} '${text}': empty matrix; ${help}`);
  const cells = rows.map((r) => r.split(/[\s,]+/).filter((c) => c !== ''));
  const cols = cells[0].length;
  const ragged = cells.findIndex((r) => r.length !== cols);
  if (ragged >= 0) throw new UsageError(`bad ${flag} '${text}': row ${ragged + 1} has ${cells[ragged].length} numbers but row 1 has ${cols}; ${help}`);
  const values = new Float32Array(rows.length * cols);
  cells.flat().forEach((cell, i) => {
    const m = cell.match(/^([-+]?[\d.]+(?:e[-+]?\d+)?)(?:\/([\d.]+))?$/i);
    const v = m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : NaN;
    if (!Number.isFinite(v)) throw new UsageError(`bad ${flag} '${text}': '${cell}' is not a number; ${help}`);
    values[i] = v;
  });
  return { rows: rows.length, cols, values };
}

export function planeFromMatrix(m: Matrix): Plane {
  return { values: m.values, width: m.cols, height: m.rows, channels: 1 };
}

/** One channel of an interleaved plane as its own plane. */
export function channelOf(p: Plane, c: number): Plane {
  const values = new Float32Array(p.width * p.height);
  for (let i = 0; i < values.length; i++) values[i] = p.values[i * p.channels + c];
  return { values, width: p.width, height: p.height, channels: 1 };
}

export interface PlaneStats {
  min: number;
  max: number;
  mean: number;
}

export function planeStats(p: Plane): PlaneStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of p.values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: p.values.length ? sum / p.values.length : 0 };
}

/** Values mapped linearly from [lo, hi] to 0-255 (gray or RGB), as an image viewer would. */
export function planeToImage(p: Plane, lo: number, hi: number): Raster {
  if (p.channels !== 1 && p.channels !== 3) throw new Error(`planeToImage: ${p.channels} channels`);
  const out = createRaster(p.width, p.height, p.channels);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < p.values.length; i++) out.data[i] = Math.max(0, Math.min(255, Math.round((p.values[i] - lo) * k)));
  return out;
}

/**
 * A one-channel response as colour. With 'auto', anything negative goes through the
 * diverging `rdbu` map centred on zero (blue below, red above, white at 0), so the negative
 * half of an edge filter stays visible before a ReLU removes it; non-negative planes are gray
 * from 0 up. `range` fixes the scale so several tiles can share it.
 */
export function responseToRaster(p: Plane, cmap = 'auto', range?: [number, number]): Raster {
  const [lo, hi] = range ?? responseRange(p);
  const name = cmap === 'auto' ? (lo < 0 ? 'rdbu' : 'gray') : cmap;
  return colorize(p.values, p.width, p.height, lo, hi, colormapLut(name));
}

/**
 * The colour range for a response: symmetric around zero when anything is negative, else
 * from 0. It ends at the 99.5th percentile of |value|, not the maximum: on a photo a handful
 * of extreme pixels would otherwise wash every other edge out to near white.
 */
export function responseRange(p: Plane): [number, number] {
  const s = planeStats(p);
  const mags = Float32Array.from(p.values, Math.abs).sort();
  const m = mags[Math.floor(0.995 * (mags.length - 1))] || Math.max(Math.abs(s.min), Math.abs(s.max)) || 1;
  return s.min < 0 ? [-m, m] : [0, m];
}

/** Small matrices print as the tutorial shows them; larger ones would flood the terminal. */
export function formatMatrix(p: Plane, maxSide = 12): string[] | undefined {
  if (p.channels !== 1 || p.width > maxSide || p.height > maxSide) return undefined;
  const cells = Array.from(p.values, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2)));
  const w = Math.max(...cells.map((c) => c.length));
  const lines: string[] = [];
  for (let y = 0; y < p.height; y++) lines.push(`[ ${cells.slice(y * p.width, (y + 1) * p.width).map((c) => c.padStart(w)).join(' ')} ]`);
  return lines;
}

/** Rows of numbers for --json (rounded so the JSON stays readable). */
export function planeRows(p: Plane): number[][] | number[][][] {
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  const rows = [];
  for (let y = 0; y < p.height; y++) {
    const row = [];
    for (let x = 0; x < p.width; x++) {
      const at = (y * p.width + x) * p.channels;
      row.push(p.channels === 1 ? round(p.values[at]) : Array.from(p.values.subarray(at, at + p.channels), round));
    }
    rows.push(row);
  }
  return rows as number[][] | number[][][];
}
