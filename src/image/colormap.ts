import { interpolateInferno, interpolateMagma, interpolateViridis, interpolatePlasma, interpolateRdBu } from 'd3-scale-chromatic';
import { UsageError } from '../errors.js';
import { createRaster, type Raster } from './raster.js';

type Interpolator = (t: number) => string;

/** Sequential maps for magnitudes; `rdbu` diverges around the middle for signed responses. */
const INTERPOLATORS: Record<string, Interpolator | null> = {
  gray: null,
  viridis: interpolateViridis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
  plasma: interpolatePlasma,
  // d3's RdBu runs red→blue; flipped so negative is blue and positive red, the usual reading.
  rdbu: (t) => interpolateRdBu(1 - t),
};
export const COLORMAPS = Object.keys(INTERPOLATORS);

const cache = new Map<string, Uint8Array>();

/** 256-entry RGB lookup table, so mapping a pixel is an index, not a colour-string parse. */
export function colormapLut(name: string): Uint8Array {
  const key = name.toLowerCase();
  if (!(key in INTERPOLATORS)) {
    throw new UsageError(`unknown colormap '${name}': choose one of ${COLORMAPS.join(', ')}`);
  }
  let lut = cache.get(key);
  if (lut) return lut;
  lut = new Uint8Array(256 * 3);
  const interp = INTERPOLATORS[key];
  for (let i = 0; i < 256; i++) {
    if (!interp) {
      lut.fill(i, 3 * i, 3 * i + 3);
      continue;
    }
    const [r, g, b] = parseColor(interp(i / 255));
    lut[3 * i] = r;
    lut[3 * i + 1] = g;
    lut[3 * i + 2] = b;
  }
  cache.set(key, lut);
  return lut;
}

function parseColor(css: string): [number, number, number] {
  if (css.startsWith('#')) {
    return [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16)) as [number, number, number];
  }
  const m = css.match(/rgb\((\d+),\s*(\d+),\s*(\d+)\)/);
  if (!m) throw new Error(`cannot parse colour ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * Map `values` (a width×height plane, any float range) to colour, with [lo, hi] stretched over
 * the table. A flat plane (hi == lo) maps to the table's lowest colour rather than NaN.
 */
export function colorize(values: ArrayLike<number>, width: number, height: number, lo: number, hi: number, lut: Uint8Array): Raster {
  const out = createRaster(width, height, 3);
  const span = hi - lo;
  const k = span > 0 ? 255 / span : 0;
  for (let i = 0; i < width * height; i++) {
    let idx = Math.round((values[i] - lo) * k);
    idx = idx < 0 || Number.isNaN(idx) ? 0 : idx > 255 ? 255 : idx;
    out.data[3 * i] = lut[3 * idx];
    out.data[3 * i + 1] = lut[3 * idx + 1];
    out.data[3 * i + 2] = lut[3 * idx + 2];
  }
  return out;
}
