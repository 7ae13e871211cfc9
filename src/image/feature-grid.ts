import { colorize, colormapLut } from './colormap.js';
import { tileGrid } from './grid.js';
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
  const stats = Array.from({ length: c }, () => ({ min: Infinity, max: -Infinity, mean: 0 }));
  for (let i = 0; i < fm.values.length; i++) {
    const s = stats[i % c];
    const v = fm.values[i];
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
    s.mean += v;
  }
  const perChannel = fm.values.length / c;
  for (const s of stats) s.mean /= perChannel;
  return stats;
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
}

/**
 * One tile per channel, near-square grid. With `layer` scaling every tile shares one range so
 * tiles can be compared; with `channel` each is stretched to show its own structure.
 */
export function renderFeatureGrid(fm: FeatureMaps, opts: FeatureGridOptions = {}): Raster {
  const c = channelCount(fm);
  const channels = opts.channels ?? Array.from({ length: c }, (_, i) => i);
  const lut = colormapLut(opts.cmap ?? 'viridis');
  const stats = channelStats(fm);
  const layerLo = Math.min(...channels.map((k) => stats[k].min));
  const layerHi = Math.max(...channels.map((k) => stats[k].max));
  const range = (k: number): [number, number] => (opts.scale === 'channel' ? [stats[k].min, stats[k].max] : [layerLo, layerHi]);

  // A single value has no range of its own, so vectors always share the layer's. A 1x1 map
  // (a graph model's [1, 1, 1001] logits, a keepdims global pool) is a vector too.
  if (fm.shape.length === 1 || (fm.shape.length === 3 && fm.shape[0] === 1 && fm.shape[1] === 1)) return renderVectorStrip(fm.values, channels, () => [layerLo, layerHi], lut, opts);
  if (fm.shape.length !== 3) throw new Error(`cannot draw a layer output of rank ${fm.shape.length + 1}`);

  const [h, w] = fm.shape;
  const factor = tileScale(h, w, opts.tileSize);
  const plane = new Float32Array(h * w);
  const tiles = channels.map((k) => {
    for (let p = 0; p < h * w; p++) plane[p] = fm.values[p * c + k];
    const [lo, hi] = range(k);
    return colorize(plane, w, h, lo, hi, lut);
  });
  return tileGrid(tiles, { gutter: opts.gutter ?? (factor > 1 ? 2 : 1), scale: factor });
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
