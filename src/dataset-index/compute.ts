import tf = require('@tensorflow/tfjs');
import { createModelPool, modelWorkers } from '../backend/model-pool.js';
import { compiledFile, type ReportProgress, type WorkerState } from '../backend/pool.js';
import { RuntimeError, UsageError } from '../errors.js';
import { type Fit } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { resolveLayers } from '../model/address.js';
import { isSpatial } from '../model/default-layer.js';
import { type LayerInfo } from '../model/layers.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { loadModelRaster, probeActivations, rasterToTensor } from '../model/probe.js';
import { STATS, emptyStats, type IndexLayer, type LayerStats } from './stats.js';

export { STATS, emptyStats, type IndexLayer, type LayerStats, type StatName } from './stats.js';

/** A layer with a non-linearity: an activation layer, or a layer with a fused activation other than linear. */
function isNonlinear(l: LayerInfo): boolean {
  if (/^(ReLU|LeakyReLU|PReLU|ELU|ThresholdedReLU|Softmax|Activation)$/.test(l.className)) return l.activation !== 'linear';
  return l.activation !== undefined && l.activation !== 'linear';
}

/**
 * The layers `index` records when --layers is not given: every layer with a spatial map (2x2 or
 * more) that ends in a non-linearity (MobileNet: each conv, depthwise and pointwise ReLU), where
 * a unit's response means something; failing those, every convolution; failing those, every
 * spatial layer. Batch-norm and pre-activation outputs would double or triple the index for
 * numbers nobody asks about.
 */
export function defaultIndexLayers(layers: readonly LayerInfo[]): number[] {
  const spatial = layers.filter((l) => l.className !== 'InputLayer' && isSpatial(l));
  for (const pick of [spatial.filter(isNonlinear), spatial.filter((l) => l.isConv), spatial]) {
    if (pick.length) return pick.map((l) => l.index);
  }
  throw new UsageError(`the model has no layer with a spatial map: index records per-position maxima, so it needs one (name a layer with --layers)`);
}

/**
 * The layers a --layers spec names (the `activations --layer` syntax: indices, names, ranges,
 * lists, 'all'), each of which must have a map of fixed size [h, w, c]. `all` keeps only those.
 */
export function chooseLayers(loaded: LoadedModel, spec?: string, inputSize?: [number, number]): IndexLayer[] {
  const layers = loaded.graph.layers;
  let indices: number[];
  if (spec === undefined) indices = defaultIndexLayers(layers);
  else if (spec.trim().toLowerCase() === 'all') indices = layers.filter((l) => l.className !== 'InputLayer' && l.outputShape.length === 4).map((l) => l.index);
  else indices = resolveLayers(spec, layers);
  return indices.map((i) => {
    const l = layers[i];
    const s = l.outputShape;
    if (s.length !== 4) {
      throw new UsageError(`layer ${l.name} has output shape [${s.map((d) => d ?? '?').join(', ')}], not a map [h, w, channels]: index records maxima over positions (give layers with a spatial output, see cnnviz layers)`);
    }
    const [h, w] = s[1] != null && s[2] != null ? [s[1], s[2]] : outputSizeAt(loaded, i, inputSize);
    return { name: l.name, index: i, height: h, width: w, channels: s[3] as number };
  });
}

/** A free-size model's map size at a given input size, from one forward pass of zeros. */
function outputSizeAt(loaded: LoadedModel, layer: number, inputSize?: [number, number]): [number, number] {
  if (!inputSize) throw new UsageError(`model takes any input size: give --size so every photo meets it at the same size`);
  return tf.tidy(() => {
    const x = tf.zeros([1, ...inputSize, loaded.inputShape[2]]) as tf.Tensor4D;
    const { activations } = probeActivations(loaded, x, [layer]);
    return [activations[0].shape[1] as number, activations[0].shape[2] as number];
  });
}

/**
 * Statistics of a batch of decoded photos (all of the model's input size), for each layer: one
 * forward pass, the reductions as tensor ops, and one read-back for the whole batch.
 * (Measured, MobileNet 0.25, 13 conv_pw_N_relu layers, 16 photos, wasm: 185-230 ms a batch
 * with the reductions as tensor ops, 240-250 ms reading every map back and reducing in one JS
 * pass; the forward pass and read-back alone take 155 ms.)
 */
export function batchStats(loaded: LoadedModel, rasters: readonly Raster[], layerIndices: readonly number[]): LayerStats[] {
  const rows = rasters.length;
  if (rows === 0) return layerIndices.map((i) => emptyStats(0, loaded.graph.layers[i].outputShape[3] as number));
  const channels: number[] = [];
  const flat = tf.tidy(() => {
    const input = tf.concat(rasters.map((r) => rasterToTensor(r, loaded.meta.inputRange))) as tf.Tensor4D;
    const { activations } = probeActivations(loaded, input, [...layerIndices]);
    const perLayer = activations.map((a) => {
      const [b, h, w, c] = a.shape as number[];
      channels.push(c);
      const r = a.reshape([b, h * w, c]);
      // Positions up to 2^24 are exact in float32: one dtype, so one tensor and one read-back.
      return tf.stack([r.max(1), r.mean(1), r.min(1), r.argMax(1).toFloat(), r.argMin(1).toFloat()]);
    });
    return tf.concat(perLayer, 2);
  });
  const data = flat.dataSync() as Float32Array;
  flat.dispose();
  const total = channels.reduce((a, c) => a + c, 0);
  let offset = 0;
  return channels.map((c) => {
    const out = emptyStats(rows, c);
    STATS.forEach((name, s) => {
      const target = out[name];
      for (let row = 0; row < rows; row++) {
        const from = (s * rows + row) * total + offset;
        for (let k = 0; k < c; k++) target[row * c + k] = data[from + k];
      }
    });
    offset += c;
    return out;
  });
}

/** What a pool worker needs for one batch: where the model is, the layers, the decoded photos. */
export interface IndexJobArgs {
  model: string;
  inputRange: InputRange;
  layers: number[];
  rasters: Raster[];
}

export type IndexJobResult = { stats: LayerStats[] } | { error: { kind: 'usage' | 'runtime'; message: string } };

/** Pool job: load the model (once per worker) and compute one batch's statistics. */
export async function indexBatchJob(args: IndexJobArgs, _report: ReportProgress, workerState: WorkerState): Promise<IndexJobResult> {
  const key = `index-model|${args.model}|${args.inputRange.join(',')}`;
  try {
    let loading = workerState.get(key) as Promise<LoadedModel> | undefined;
    if (!loading) workerState.set(key, (loading = loadModel(args.model, { inputRange: args.inputRange })));
    return { stats: batchStats(await loading, args.rasters, args.layers) };
  } catch (err) {
    if (err instanceof UsageError) return { error: { kind: 'usage', message: err.message } };
    if (err instanceof RuntimeError) return { error: { kind: 'runtime', message: err.message } };
    throw err;
  }
}

export interface ComputeOptions {
  fit?: Fit;
  /** Input side for models that take any size. */
  size?: number;
  maxMegapixels?: number;
  /** Photos per forward pass (default 16: measured fastest on MobileNet, wasm). */
  batchSize?: number;
  /** Worker threads (default: one per core); 1 computes in this thread. */
  workers?: number;
  /** The compiled library folder (dist/) the workers run, for callers running from source (tests). */
  compiledDir?: string;
}

export interface ComputeHandlers {
  /** A batch is done: its photos (those that decoded, in batch order) and their statistics. */
  onBatch(files: string[], stats: LayerStats[]): void | Promise<void>;
  /** A photo could not be read or decoded; the run goes on. */
  onFailed(file: string, error: unknown): void;
  /** Photos finished so far (failed ones included). */
  onProgress?(done: number): void;
}

/**
 * The forward passes over `files` (absolute paths), in batches of fixed size in the given
 * order. Photos are decoded on this thread (sharp decodes on its own threads) while the worker
 * pool computes earlier batches. A batch's statistics do not depend on which other photos share
 * it, so any split of the work gives the same numbers.
 */
export async function computeIndex(loaded: LoadedModel, files: readonly string[], layers: readonly IndexLayer[], opts: ComputeOptions, handlers: ComputeHandlers): Promise<void> {
  const batchSize = Math.max(1, opts.batchSize ?? 16);
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize));
  const indices = layers.map((l) => l.index);
  const workers = modelWorkers(loaded.source, batches.length, opts.workers);
  const pool = workers > 1 ? createModelPool(workers, opts.compiledDir) : undefined;
  let done = 0;
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (failure === undefined && next < batches.length) {
      const batch = batches[next++];
      const decoded = await Promise.all(
        batch.map((file) =>
          loadModelRaster(loaded, file, opts).then(
            (raster) => ({ file, raster }),
            (error: unknown) => {
              handlers.onFailed(file, error);
              return undefined;
            },
          ),
        ),
      );
      const good = decoded.filter((d): d is { file: string; raster: Raster } => d !== undefined);
      const rasters = good.map((d) => d.raster);
      let stats: LayerStats[];
      if (!pool) stats = batchStats(loaded, rasters, indices);
      else {
        const r = await pool.run<IndexJobResult>({ module: compiledFile('dataset-index/compute.js', opts.compiledDir), fn: 'indexBatchJob', args: { model: loaded.source, inputRange: loaded.meta.inputRange, layers: indices, rasters } satisfies IndexJobArgs });
        if ('error' in r) throw r.error.kind === 'usage' ? new UsageError(r.error.message) : new RuntimeError(r.error.message);
        stats = r.stats;
      }
      await handlers.onBatch(good.map((d) => d.file), stats);
      done += batch.length;
      handlers.onProgress?.(done);
    }
  };
  try {
    // One lane more than there are workers: one batch is always being decoded while the others compute.
    await Promise.all(
      Array.from({ length: Math.min(batches.length, workers + 1) }, () =>
        lane().catch((err: unknown) => {
          failure ??= err;
        }),
      ),
    );
    if (failure !== undefined) throw failure;
  } finally {
    await pool?.close();
  }
}
