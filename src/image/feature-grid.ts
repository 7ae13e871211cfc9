import { colorize, colormapLut } from './colormap.js';
import { gridGeometry, tileGrid } from './grid.js';
import { type Raster } from './raster.js';

export type ScaleMode = 'layer' | 'channel';

export interface ChannelStats {
  min: number;
  max: number;
  mean: number;
}

/**
 * A layer's output for one image, channels last, batch axis removed: [h, w, c] for feature
 * maps, [c] for vectors (Dense, global pooling).
 */
export interface FeatureMaps {
  values: Float32Array;
  shape: number[];
}

function channelCount(fm: FeatureMaps): number {
  return fm.shape[fm.shape.length - 1];
}

/** Per-channel min, max and mean, in one pass over the interleaved values. */
export function channelStats(fm: FeatureMaps): ChannelStats[] {
  const c = channelCount(fm);
  const { values } = fm;
  const min = new Float64Array(c).fill(Infinity);
  const max = new Float64Array(c).fill(-Infinity);
  const sum = new Float64Array(c);
  // Pixel by pixel, then channel by channel: no modulo and no object per value, which matters
  // for `activations --layer all` (tens of millions of values on InceptionV3).
  for (let p = 0; p < values.length; p += c) {
    for (let k = 0; k < c; k++) {
      const v = values[p + k];
      if (v < min[k]) min[k] = v;
      if (v > max[k]) max[k] = v;
      sum[k] += v;
    }
  }
  const perChannel = values.length / c;
  return Array.from({ length: c }, (_, k) => ({ min: min[k], max: max[k], mean: sum[k] / perChannel }));
}

/** The n channels with the highest mean activation, strongest first. */
export function topChannels(stats: ChannelStats[], n: number): number[] {
  return stats
    .map((s, i) => ({ i, m: s.mean }))
    .sort((a, b) => b.m - a.m)
    .slice(0, n)
    .map((x) => x.i);
}

export interface FeatureGridOptions {
  channels?: number[];
  scale?: ScaleMode;
  cmap?: string;
  /** Maps smaller than this are enlarged (nearest neighbour) until their short side reaches it. */
  tileSize?: number;
  gutter?: number;
  /** `channelStats(fm)`, when the caller has it already (it is a pass over every value). */
  stats?: ChannelStats[];
  /**
   * Memory to draw a feature-map grid into, used when big enough. A caller drawing many grids
   * reuses a few buffers instead of having the kernel map and zero a fresh one each time (a
   * whole network's grids are about a gigabyte). The returned raster is a view of it.
   */
  buffer?: Uint8Array;
}

/**
 * One tile per channel, near-square grid. With `layer` scaling every tile shares one range so
 * tiles can be compared; with `channel` each is stretched to show its own structure.
 */
export function renderFeatureGrid(fm: FeatureMaps, opts: FeatureGridOptions = {}): Raster {
  const c = channelCount(fm);
  const channels = opts.channels ?? Array.from({ length: c }, (_, i) => i);
  const lut = colormapLut(opts.cmap ?? 'viridis');
  const stats = opts.stats ?? channelStats(fm);
  const layerLo = Math.min(...channels.map((k) => stats[k].min));
  const layerHi = Math.max(...channels.map((k) => stats[k].max));
  const range = (k: number): [number, number] => (opts.scale === 'channel' ? [stats[k].min, stats[k].max] : [layerLo, layerHi]);

  // A single value has no range of its own, so vectors always share the layer's. A 1x1 map
  // (a graph model's [1, 1, 1001] logits, a keepdims global pool) is a vector too.
  if (fm.shape.length === 1 || (fm.shape.length === 3 && fm.shape[0] === 1 && fm.shape[1] === 1)) return renderVectorStrip(fm.values, channels, () => [layerLo, layerHi], lut, opts);
  if (fm.shape.length !== 3) throw new Error(`cannot draw a layer output of rank ${fm.shape.length + 1}`);

  const [h, w] = fm.shape;
  const factor = tileScale(h, w, opts.tileSize);
  return drawMapGrid(fm, channels, range, lut, factor, opts.gutter ?? (factor > 1 ? 2 : 1), opts.buffer);
}

/**
 * What `tileGrid(channels.map(colorize), { gutter, scale: factor })` draws, pixel for pixel, but
 * written straight into the grid: a whole network's grids are hundreds of megapixels, and
 * building each tile and then enlarging it into the grid pixel by pixel took most of
 * `activations --layer all`. Here each map row is coloured and enlarged once, and the grid's
 * other rows of that stripe are block copies of it.
 */
function drawMapGrid(fm: FeatureMaps, channels: number[], range: (k: number) => [number, number], lut: Uint8Array, factor: number, gutter: number, buffer?: Uint8Array): Raster {
  const [h, w, c] = fm.shape;
  const { values } = fm;
  const g = gridGeometry({ width: w, height: h }, channels.length, { gutter, scale: factor });
  // Not zeroed: every byte is written below, the background only where no map pixel goes.
  const size = g.width * g.height * 3;
  const data = buffer && buffer.length >= size ? buffer.subarray(0, size) : new Uint8Array(Buffer.allocUnsafeSlow(size).buffer);
  const stride = g.width * 3;
  // Per tile: the start of its value range, the factor onto the colour table, its left edge in bytes.
  const n = channels.length;
  const lows = new Float64Array(n);
  const toIndex = new Float64Array(n);
  const left = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const [lo, hi] = range(channels[i]);
    lows[i] = lo;
    toIndex[i] = hi - lo > 0 ? 255 / (hi - lo) : 0;
    left[i] = g.origin(i).x * 3;
  }
  const run = factor * 3;
  let drawnTo = 0;
  for (let first = 0; first < n; first += g.cols) {
    const last = Math.min(n, first + g.cols);
    const top = g.origin(first).y;
    data.fill(255, drawnTo * stride, top * stride);
    drawnTo = top + h * factor;
    for (let sy = 0; sy < h; sy++) {
      const rowStart = (top + sy * factor) * stride;
      data.fill(255, rowStart, rowStart + stride);
      for (let i = first; i < last; i++) {
        const k = channels[i];
        const lo = lows[i];
        const scale = toIndex[i];
        let o = rowStart + left[i];
        for (let sx = 0, v = sy * w * c + k; sx < w; sx++, v += c) {
          // colorize's Math.round and clamp, in a form V8 runs about twice as fast: NaN and
          // everything at or below 0 take colour 0, everything from 254.5 up colour 255.
          const t = (values[v] - lo) * scale;
          const idx = t > 0 ? (t < 254.5 ? (t + 0.5) | 0 : 255) : 0;
          const r = lut[3 * idx];
          const gr = lut[3 * idx + 1];
          const b = lut[3 * idx + 2];
          for (const end = o + run; o < end; o += 3) {
            data[o] = r;
            data[o + 1] = gr;
            data[o + 2] = b;
          }
        }
      }
      // The gutters are background in this row and in its copies alike, so the whole width is copied.
      for (let f = 1; f < factor; f++) data.copyWithin(rowStart + f * stride, rowStart, rowStart + stride);
    }
  }
  data.fill(255, drawnTo * stride);
  return { data, width: g.width, height: g.height, channels: 3 };
}

/** Tiles are enlarged no further than this on their long side. */
const MAX_TILE_SIDE = 4096;

/**
 * How many times a h x w map is enlarged: until its short side reaches `tileSize`, but never
 * past MAX_TILE_SIDE on its long side, so a 500000x4 map (a damaged model's) stays 500000x4
 * instead of becoming a 6-gigabyte picture.
 */
export function tileScale(h: number, w: number, tileSize = 64): number {
  const wanted = Math.ceil(tileSize / Math.min(h, w));
  return Math.max(1, Math.min(wanted, Math.floor(MAX_TILE_SIDE / Math.max(h, w))));
}

/** Vectors have no space to draw: each value becomes one coloured cell, wrapped in rows of 32. */
function renderVectorStrip(values: Float32Array, channels: number[], range: (k: number) => [number, number], lut: Uint8Array, opts: FeatureGridOptions): Raster {
  const cell = Math.max(4, Math.round((opts.tileSize ?? 64) / 4));
  const tiles = channels.map((k) => {
    const [lo, hi] = range(k);
    return colorize([values[k]], 1, 1, lo, hi, lut);
  });
  return tileGrid(tiles, { cols: Math.min(32, tiles.length), gutter: 1, scale: cell });
}
