import { promises as fs } from 'node:fs';
import tf = require('@tensorflow/tfjs');
import { createModelPool, modelWorkers } from '../backend/model-pool.js';
import { compiledFile, type ReportProgress, type WorkerState } from '../backend/pool.js';
import { IMAGE_EXTENSIONS, listInputs, stableHash, type ListedFile } from '../dataset-index/files.js';
import { subSeed } from '../dream/random.js';
import { RuntimeError, UsageError } from '../errors.js';
import { type Fit } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { type InputRange } from '../model/meta.js';
import { loadModelRaster, rasterToTensor } from '../model/probe.js';
import { BASELINES, gaussianMap, randomMap, sobelMap } from './baselines.js';
import { CAM_METHODS, createCam, probabilities, type CamMethod } from './cam.js';
import { isOneUnitHead } from './classes.js';
import { faithfulness, METRICS, type FaithfulnessOptions, type Metric, type MetricScores, type ProbabilityFn } from './faithfulness.js';
import { scorePass } from './forward.js';
import { camLayer } from './layer.js';
import { resizeMap } from './map.js';

/**
 * `cam --evaluate <dir>`: the faithfulness metrics (faithfulness.ts) of CAM methods and of the
 * three baseline maps (baselines.ts) over a folder of photos, each photo's predicted class.
 * Photos are decoded on the main thread and evaluated in a pool of worker threads (one per
 * core: wasm is single-threaded in Node), one photo per job; a photo's numbers depend only on
 * the photo and the seed, never on which worker or in which order it ran.
 */

export interface EvaluateOptions {
  /** CAM methods to evaluate (default ['gradcam']). */
  methods?: readonly CamMethod[];
  layer?: string | number;
  /** Evaluate a seeded sample of this many photos (default: all). */
  sample?: number;
  /** Seeds the sample, the random baseline, tie orders and ROAD's noise (default 0). */
  seed?: number;
  steps?: number;
  batch?: number;
  sweeps?: number;
  fit?: Fit;
  maxMegapixels?: number;
  /** Worker threads (default: one per core); 1 computes in this thread. */
  workers?: number;
  /** The compiled library folder (dist/) the workers run, for callers running from source (tests). */
  compiledDir?: string;
}

/** One photo's result: its predicted class, and each map's scores (methods first, then the baselines). */
export interface PhotoEvaluation {
  class: number;
  probability: number;
  maps: { name: string; scores: MetricScores }[];
}

/** What a worker needs to build the evaluator: the model file and the settings. */
interface EvaluatorSpec {
  methods: CamMethod[];
  layer?: string | number;
  faithfulness: Omit<FaithfulnessOptions, 'range'>;
}

/** The probability of class `cls` (softmax, or the sigmoid of a one-unit head) for images of one size laid end to end. */
export function classProbability(loaded: LoadedModel, cls: number, width: number, height: number, channels: number, scores = scorePass(loaded)): ProbabilityFn {
  const oneUnit = isOneUnitHead(loaded);
  return (images, n) => tf.tidy(() => probabilities(scores(tf.tensor4d(images, [n, height, width, channels])), oneUnit).slice([0, cls], [n, 1]).dataSync());
}

/** A photo's evaluation for one model and settings; the CAM passes are built once. */
export function photoEvaluator(loaded: LoadedModel, spec: EvaluatorSpec): (raster: Raster, seed: number) => PhotoEvaluation {
  const cams = spec.methods.map((method) => createCam(loaded, { method, layer: spec.layer }));
  const scores = scorePass(loaded);
  const range = loaded.meta.inputRange;
  return (raster, seed) => {
    const { width, height, channels } = raster;
    const x = rasterToTensor(raster, range);
    try {
      const pixels = { data: x.dataSync() as Float32Array, width, height, channels };
      const cls = tf.tidy(() => scores(x).argMax(1).dataSync()[0]);
      const camMaps = cams.map((cam) => cam.explain(x)[0]);
      const grid = camMaps[0];
      const maps = [
        ...camMaps.map((m) => resizeMap(m, width, height)),
        randomMap(width, height, grid.width, grid.height, subSeed(seed, 3)),
        sobelMap(pixels),
        gaussianMap(width, height),
      ];
      const f = faithfulness(pixels, maps, classProbability(loaded, cls, width, height, channels, scores), { ...spec.faithfulness, range, seed });
      const names = [...spec.methods, ...BASELINES];
      return { class: cls, probability: f.probability, maps: f.scores.map((s, i) => ({ name: names[i], scores: s })) };
    } finally {
      x.dispose();
    }
  };
}

/** What a pool worker gets for one photo. */
export interface EvaluateJobArgs {
  model: string;
  inputRange: InputRange;
  spec: EvaluatorSpec;
  raster: Raster;
  seed: number;
}

export type EvaluateJobResult = { result: PhotoEvaluation } | { error: { kind: 'usage' | 'runtime'; message: string } };

/** Pool job: build the evaluator (once per worker and settings) and evaluate one photo. */
export async function evaluatePhotoJob(args: EvaluateJobArgs, _report: ReportProgress, workerState: WorkerState): Promise<EvaluateJobResult> {
  const key = `evaluate|${args.model}|${args.inputRange.join(',')}|${JSON.stringify(args.spec)}`;
  try {
    let building = workerState.get(key) as Promise<ReturnType<typeof photoEvaluator>> | undefined;
    if (!building) workerState.set(key, (building = loadModel(args.model, { inputRange: args.inputRange }).then((loaded) => photoEvaluator(loaded, args.spec))));
    return { result: (await building)(args.raster, args.seed) };
  } catch (err) {
    if (err instanceof UsageError) return { error: { kind: 'usage', message: err.message } };
    return { error: { kind: 'runtime', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** The photos under `dir` (recursively), or a seeded sample of `sample` of them, in name order. */
export async function evaluationPhotos(dir: string, sample?: number, seed = 0): Promise<ListedFile[]> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) throw new UsageError(`--evaluate folder not found: ${dir} (give a folder of photos)`);
  if (!stat.isDirectory()) throw new UsageError(`--evaluate takes a folder of photos: ${dir} is a file`);
  const files = await listInputs([dir]);
  if (!files.length) throw new UsageError(`no photos in ${dir} (looked for ${IMAGE_EXTENSIONS.join(' ')}, in subfolders too)`);
  if (sample === undefined || sample >= files.length) return files;
  const key = (f: ListedFile) => subSeed(seed, stableHash(f.name));
  return [...files].sort((a, b) => key(a) - key(b)).slice(0, sample).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface EvaluateHandlers {
  onPhoto(file: ListedFile, result: PhotoEvaluation): void;
  /** A photo could not be read or evaluated; the run goes on. */
  onFailed(file: ListedFile, error: unknown): void;
  onProgress?(done: number, total: number): void;
}

/** Check the settings against the model (usage errors) before any photo: the layer and the methods. */
export function evaluatorSpec(loaded: LoadedModel, opts: EvaluateOptions): EvaluatorSpec {
  const methods = [...(opts.methods ?? ['gradcam'])];
  if (!methods.length) throw new UsageError(`--evaluate needs at least one method: ${CAM_METHODS.join(', ')} or all`);
  camLayer(loaded, opts.layer);
  return { methods, layer: opts.layer, faithfulness: { steps: opts.steps, batch: opts.batch, sweeps: opts.sweeps } };
}

/** Evaluate every photo of `files`: results and failures through `handlers`, in completion order. */
export async function evaluatePhotos(loaded: LoadedModel, files: readonly ListedFile[], opts: EvaluateOptions, handlers: EvaluateHandlers): Promise<void> {
  const spec = evaluatorSpec(loaded, opts);
  const workers = modelWorkers(loaded.source, files.length, opts.workers);
  const pool = workers > 1 ? createModelPool(workers, opts.compiledDir) : undefined;
  const local = pool ? undefined : photoEvaluator(loaded, spec);
  const seed = opts.seed ?? 0;
  let next = 0;
  let done = 0;
  let fatal: unknown;
  const lane = async () => {
    while (fatal === undefined && next < files.length) {
      const file = files[next++];
      const photoSeed = subSeed(seed, stableHash(file.name));
      try {
        const raster = await loadModelRaster(loaded, file.abs, { fit: opts.fit, maxMegapixels: opts.maxMegapixels });
        let result: PhotoEvaluation;
        if (local) result = local(raster, photoSeed);
        else {
          const r = await pool!.run<EvaluateJobResult>({ module: compiledFile('attribution/evaluate.js', opts.compiledDir), fn: 'evaluatePhotoJob', args: { model: loaded.source, inputRange: loaded.meta.inputRange, spec, raster, seed: photoSeed } satisfies EvaluateJobArgs });
          if ('error' in r) {
            // The model or settings failing in a worker fail every photo: stop the run.
            if (r.error.kind === 'usage') {
              fatal ??= new UsageError(r.error.message);
              return;
            }
            throw new RuntimeError(r.error.message);
          }
          result = r.result;
        }
        handlers.onPhoto(file, result);
      } catch (err) {
        handlers.onFailed(file, err);
      }
      handlers.onProgress?.(++done, files.length);
    }
  };
  try {
    // One lane more than there are workers: a photo is always being decoded while the others compute.
    await Promise.all(Array.from({ length: Math.min(files.length, workers + 1) }, lane));
    if (fatal !== undefined) throw fatal;
  } finally {
    await pool?.close();
  }
}

/** Mean and standard error of the mean over the photos, per map and metric. */
export interface EvaluationSummary {
  photos: number;
  maps: { name: string; metrics: Record<Metric, { mean: number; sem: number }> }[];
}

export function summarise(results: readonly PhotoEvaluation[]): EvaluationSummary {
  const names = results[0]?.maps.map((m) => m.name) ?? [];
  const n = results.length;
  return {
    photos: n,
    maps: names.map((name, i) => {
      const metrics = {} as Record<Metric, { mean: number; sem: number }>;
      for (const metric of METRICS) {
        const v = results.map((r) => r.maps[i].scores[metric]);
        const mean = v.reduce((a, b) => a + b, 0) / n;
        const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
        metrics[metric] = { mean, sem: sd / Math.sqrt(n) };
      }
      return { name, metrics };
    }),
  };
}
