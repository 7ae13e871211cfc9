import path from 'node:path';
import { UsageError } from '../errors.js';
import { type Fit } from '../image/io.js';
import { type LoadedModel } from '../model/load.js';
import { type ComputeOptions } from './compute.js';
import { comparePaths, resolveStored } from './files.js';
import { gatherRows, readTable, type IndexInput } from './format.js';
import { type IndexLayer, type LayerStats } from './stats.js';

// Opening and ranking an index is plain typed arrays: tfjs (compute.ts, the model) loads only
// when indexInMemory computes one.
export type { IndexLayer, LayerStats } from './stats.js';
export type { BuildOptions, BuildReport } from './build.js';
export type { IndexInput } from './format.js';

/** One photo of a ranking: its activation (max, or min for --bottom) and where in the layer's map it is. */
export interface RankedUnit {
  /** Absolute path of the photo. */
  file: string;
  value: number;
  /** Position in the layer's map (0-based row and column). */
  y: number;
  x: number;
}

export interface RankOptions {
  k: number;
  /** Rank by the minimum (least exciting first) instead of the maximum. */
  bottom?: boolean;
  /**
   * A second key before the path for photos whose max (min) ties: 'mean' ranks them by their
   * mean (higher first; lower with `bottom`). A capped activation (ReLU6: MobileNet saturates at
   * 6 in about 40% of its pointwise channels over the cats-dogs photos) ties many photos at its
   * cap, and by path alone the top 9 would be the first 9 file names.
   */
  thenBy?: 'path' | 'mean';
}

/** A dataset index in memory: opened from a folder (openIndex) or computed on the fly (indexInMemory). */
export interface DatasetIndex {
  /** The index folder; undefined for an index computed in memory. */
  dir?: string;
  /** How photos met the model: its input size, the fit and the value range (see inputBoxToPhoto). */
  input: IndexInput;
  layers: IndexLayer[];
  /** Absolute paths, in row order (sorted). */
  files: string[];
  /** Photos that could not be decoded, with why. */
  failed: { file: string; reason: string }[];
  /** The layer a name or index names, with its five arrays [files, channels]. */
  layer(name: string): { layer: IndexLayer; stats: LayerStats };
  /**
   * The k photos that excite a channel most (by their maximum, with its position), or with
   * `bottom` least (by their minimum, with its position). Ties go to the smaller path.
   */
  rankUnits(layer: string, channel: number, opts: RankOptions): RankedUnit[];
}

/** The layer of an index a name (or the model's layer index, or an unambiguous inner name) names; -1 if none. */
export function findIndexLayer(layers: readonly { name: string; index: number }[], name: string): number {
  const exact = layers.findIndex((l) => l.name === name || String(l.index) === name);
  if (exact >= 0) return exact;
  const inner = layers.map((l, i) => (l.name.endsWith(`/${name}`) ? i : -1)).filter((i) => i >= 0);
  return inner.length === 1 ? inner[0] : -1;
}

function makeIndex(dir: string | undefined, input: IndexInput, layers: IndexLayer[], files: string[], stats: LayerStats[], failed: DatasetIndex['failed']): DatasetIndex {
  const find = (name: string): number => {
    const i = findIndexLayer(layers, name);
    if (i >= 0) return i;
    throw new UsageError(`layer '${name}' is not in ${dir ? `index ${dir}` : 'the index'}: it holds ${layers.map((l) => l.name).join(', ')}`);
  };
  return {
    dir,
    input,
    layers,
    files,
    failed,
    layer(name) {
      const i = find(name);
      return { layer: layers[i], stats: stats[i] };
    },
    rankUnits(name, channel, opts) {
      const i = find(name);
      const { channels, width } = layers[i];
      if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
        throw new UsageError(`filter ${channel} out of range: layer ${layers[i].name} has ${channels} channels (0-${channels - 1})`);
      }
      const values = opts.bottom ? stats[i].min : stats[i].max;
      const where = opts.bottom ? stats[i].argmin : stats[i].argmax;
      const sign = opts.bottom ? -1 : 1;
      // Before: higher value (lower for bottom), then the smaller path. Rows are in path order,
      // so a plain scan that keeps the first of equals gives ties to the smaller path.
      const means = stats[i].mean;
      const byMean = opts.thenBy === 'mean';
      const better = (a: number, b: number) => {
        const d = sign * (values[a * channels + channel] - values[b * channels + channel]);
        if (d !== 0) return d > 0;
        const m = byMean ? sign * (means[a * channels + channel] - means[b * channels + channel]) : 0;
        return m !== 0 ? m > 0 : comparePaths(files[a], files[b]) < 0;
      };
      const k = Math.max(0, Math.min(opts.k, files.length));
      const top: number[] = [];
      for (let r = 0; r < files.length; r++) {
        if (Number.isNaN(values[r * channels + channel])) continue;
        if (top.length === k && (k === 0 || !better(r, top[k - 1]))) continue;
        let at = top.length === k ? k - 1 : top.length;
        top[at] = r;
        while (at > 0 && better(top[at], top[at - 1])) {
          [top[at], top[at - 1]] = [top[at - 1], top[at]];
          at--;
        }
      }
      return top.map((r) => {
        const pos = where[r * channels + channel];
        return { file: files[r], value: values[r * channels + channel], y: Math.floor(pos / width), x: pos % width };
      });
    },
  };
}

/**
 * Open an index folder (cnnviz index -o DIR): its manifest, arrays and any chunks of an
 * unfinished run. `layers` (names as the index spells them) reads only those layers' arrays.
 */
export async function openIndex(dir: string, opts: { layers?: readonly string[] } = {}): Promise<DatasetIndex> {
  const table = await readTable(dir, opts.layers);
  if (!table) throw new UsageError(`not an index: ${dir} has no manifest.json (build one with cnnviz index <photos> -o ${dir})`);
  const abs = path.resolve(dir);
  return makeIndex(
    dir,
    table.settings.input,
    table.settings.layers,
    table.files.map((f) => resolveStored(abs, f.path)),
    table.stats,
    table.failed.map((f) => ({ file: resolveStored(abs, f.path), reason: f.reason })),
  );
}

export interface InMemoryOptions extends ComputeOptions {
  /** Called for each photo that cannot be decoded (it is also listed in `failed`). */
  onFailed?(file: string, error: unknown): void;
  onProgress?(done: number, total: number): void;
}

/**
 * The same statistics as `cnnviz index`, by the same code, for photos given here, kept in
 * memory (nothing is written): `examples <dir>` without an index. `layerNames` take the
 * --layers syntax (names, indices, ranges).
 */
export async function indexInMemory(model: LoadedModel | string, files: string[], layerNames: string[], opts: InMemoryOptions = {}): Promise<DatasetIndex> {
  const [{ loadModel }, { modelInputSize }, { chooseLayers, computeIndex }] = await Promise.all([import('../model/load.js'), import('../model/probe.js'), import('./compute.js')]);
  const loaded = typeof model === 'string' ? await loadModel(model) : model;
  const layers = chooseLayers(loaded, layerNames.length ? layerNames.join(',') : undefined, modelInputSize(loaded, opts));
  const abs = [...new Set(files.map((f) => path.resolve(f)))].sort(comparePaths);
  const parts: { files: { path: string; size: number; mtimeMs: number }[]; stats: LayerStats[] }[] = [];
  const failed: DatasetIndex['failed'] = [];
  await computeIndex(loaded, abs, layers, opts, {
    onBatch: (done, stats) => void parts.push({ files: done.map((p) => ({ path: p, size: 0, mtimeMs: 0 })), stats }),
    onFailed: (file, error) => {
      failed.push({ file, reason: String((error as Error)?.message ?? error).split('\n')[0] });
      opts.onFailed?.(file, error);
    },
    onProgress: (done) => opts.onProgress?.(done, abs.length),
  });
  const gathered = gatherRows(layers, parts);
  const [height, width] = modelInputSize(loaded, opts) ?? [0, 0];
  const input: IndexInput = { height, width, channels: loaded.inputShape[2], fit: opts.fit ?? 'cover', range: loaded.meta.inputRange };
  failed.sort((a, b) => comparePaths(a.file, b.file));
  return makeIndex(undefined, input, layers, gathered.files.map((f) => f.path), gathered.stats, failed);
}

/** A box in pixels, [x0, x1) x [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Map a box in the model's input (pixels of the fitted photo) back to the photo as decoded
 * (after EXIF rotation: sharp's `.rotate()` orientation, so use the rotated width and height).
 * The fit is sharp's, centred: `cover` scales the photo to fill the input and crops the middle,
 * `contain` scales it to fit inside and pads the sides, `fill` stretches each axis. The result
 * is rounded outwards and clipped to the photo.
 */
export function inputBoxToPhoto(box: Box, photo: { width: number; height: number }, input: { width: number; height: number; fit: Fit }): Box {
  let sx: number;
  let sy: number;
  let ox = 0;
  let oy = 0;
  if (input.fit === 'fill') {
    sx = input.width / photo.width;
    sy = input.height / photo.height;
  } else {
    const s = input.fit === 'cover' ? Math.max(input.width / photo.width, input.height / photo.height) : Math.min(input.width / photo.width, input.height / photo.height);
    sx = sy = s;
    // cover: the resized photo overhangs the input by 2*o; contain: it leaves 2*(-o) of padding.
    ox = (photo.width * s - input.width) / 2;
    oy = (photo.height * s - input.height) / 2;
  }
  const clip = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
  return {
    x0: clip(Math.floor((box.x0 + ox) / sx), photo.width),
    y0: clip(Math.floor((box.y0 + oy) / sy), photo.height),
    x1: clip(Math.ceil((box.x1 + ox) / sx), photo.width),
    y1: clip(Math.ceil((box.y1 + oy) / sy), photo.height),
  };
}
