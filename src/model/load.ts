import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tf = require('@tensorflow/tfjs');
import { reasonOf, RuntimeError, UsageError } from '../errors.js';
import { fileSystemHandler, readModelJson, type ModelJson } from './fs-io.js';
import { layersModelMeta } from './input-range.js';
import { flattenModel, type FlatGraph } from './layers.js';
import { type InputRange, type ModelMeta } from './meta.js';

export interface LoadedModel {
  /** 'graph' for TF.js graph models (see graph.ts); absent or 'layers' for layers models. */
  kind?: 'layers' | 'graph';
  /**
   * The network as a LayersModel. For graph models this is a wrapper whose layers run
   * `graphModel` (predict and gradients work; per-layer weights don't exist).
   */
  model: tf.LayersModel;
  /** The TF.js graph model itself, when kind is 'graph'. */
  graphModel?: tf.GraphModel;
  /** The GraphDef's nodes, when kind is 'graph': the wiring `graph` leaves out (dream walks it back from the output). */
  graphNodes?: { name: string; op: string; input?: string[]; attr?: Record<string, unknown> }[];
  graph: FlatGraph;
  meta: ModelMeta;
  /** The model file that was read. */
  source: string;
  /** [height, width, channels]; height/width null when the model takes any size. */
  inputShape: [number | null, number | null, number];
}

export interface LoadOptions {
  /** Overrides every other source of the input range (the --input-range flag). */
  inputRange?: InputRange;
}

/** The model cnnviz ships, trained by `cnnviz train` (see models/catsdogs/README.md). */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../models/catsdogs/model.json', import.meta.url));

/** Accept a model.json or a folder holding one. */
export async function resolveModelPath(given: string | undefined): Promise<string> {
  if (!given) {
    if (existsSync(DEFAULT_MODEL)) return DEFAULT_MODEL;
    throw new UsageError(`no default model is bundled yet (${DEFAULT_MODEL} missing): pass one with --model path/to/model.json`);
  }
  let stat;
  try {
    stat = await fs.stat(given);
  } catch {
    throw new UsageError(`model not found: ${given} (expected a model.json, a folder holding one, or a Keras .h5/.keras file)`);
  }
  if (stat.isDirectory()) {
    const inside = path.join(given, 'model.json');
    if (!existsSync(inside)) throw new UsageError(`no model.json in folder ${given}`);
    return inside;
  }
  return given;
}

export type ModelFormatLoader = (file: string, opts: LoadOptions) => Promise<LoadedModel>;

/**
 * Loaders for other file kinds (Keras .h5/.keras, graph models) register here by extension
 * or by model.json `format`, so `loadModel` stays the one door every command goes through.
 */
const formatLoaders = new Map<string, ModelFormatLoader>();
export function registerModelFormat(key: string, loader: ModelFormatLoader): void {
  formatLoaders.set(key, loader);
}

/** The built-in formats (Keras files, graph models) register on first use; see formats.ts. */
let builtinFormats: Promise<unknown> | undefined;

export async function loadModel(given?: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const file = await resolveModelPath(given);
  builtinFormats ??= import('./formats.js');
  await builtinFormats;
  const ext = path.extname(file).toLowerCase();
  const byExt = formatLoaders.get(ext);
  if (byExt) return byExt(file, opts);
  const json = await readModelJson(file);
  const format = typeof json.format === 'string' ? json.format : isGraphModelJson(json) ? 'graph-model' : undefined;
  if (format && formatLoaders.has(format)) return formatLoaders.get(format)!(file, opts);
  if (!json.modelTopology || (format && format !== 'layers-model')) {
    const why = format ? `format '${format}'` : 'no modelTopology';
    throw new UsageError(`cannot open ${file}: not a TF.js layers model (${why}) nor a graph model; cnnviz reads TF.js layers/graph model.json files and Keras .h5/.keras files`);
  }
  return loadLayersModelFile(file, json, opts);
}

/** Is this model.json a graph model? Older converters wrote no `format`, only a GraphDef (`node`). */
export function isGraphModelJson(json: ModelJson): boolean {
  return json.format === 'graph-model' || Array.isArray((json.modelTopology as { node?: unknown } | undefined)?.node);
}

/** Load a TF.js layers-model JSON (both the `format: layers-model` and the older `model_config` style). */
export async function loadLayersModelFile(file: string, json: Awaited<ReturnType<typeof readModelJson>>, opts: LoadOptions): Promise<LoadedModel> {
  const model = await buildQuietly(`cannot build model from ${file}`, () => tf.loadLayersModel(fileSystemHandler(file, json)));
  const topo = json.modelTopology as { model_config?: { config?: { name?: string } }; config?: { name?: string } };
  const kerasName = topo.model_config?.config?.name ?? topo.config?.name;
  return fromLayersModel(model, file, await layersModelMeta(model, file, kerasName), opts);
}

/**
 * Run a tfjs model build with its console chatter muted: warnings about harmless config quirks
 * (a stray batch_input_shape) and the greeting the first cpu tensor prints would corrupt
 * `-o -` and `--json` output. Its errors become one line after `what`, as usage errors: what
 * fails to build is the file the user gave.
 */
export async function buildQuietly<T>(what: string, build: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await build();
  } catch (err) {
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    // What fails here is the file's content (a config tfjs cannot build): a bad input file, exit 2.
    throw new UsageError(`${what}: ${reasonOf(err)}`);
  } finally {
    console.warn = warn;
  }
}

/** Wrap an in-memory LayersModel (library users, tests, the Keras loaders) the same way. */
export function fromLayersModel(model: tf.LayersModel, source: string, meta: ModelMeta, opts: LoadOptions = {}): LoadedModel {
  if (opts.inputRange) meta = { ...meta, inputRange: opts.inputRange, inputRangeSource: 'flag' };
  if (model.inputs.length !== 1) {
    throw new UsageError(`model ${source} has ${model.inputs.length} inputs: cnnviz visualizes single-image models`);
  }
  const shape = model.inputs[0].shape;
  const dtype: unknown = model.inputs[0].dtype;
  // A damaged config can give the input a dtype tfjs accepts at build time but cannot feed.
  if (typeof dtype !== 'string' || !['float32', 'int32', 'bool'].includes(dtype)) {
    throw new UsageError(`model ${source} takes input of dtype ${JSON.stringify(dtype)?.slice(0, 40)}: cnnviz feeds images as float32 (corrupt config?)`);
  }
  if (shape.length !== 4) {
    throw new UsageError(`model ${source} takes input of shape [${shape.map((d) => d ?? '?').join(', ')}]: cnnviz needs an image input [batch, height, width, channels]`);
  }
  const channels = shape[3];
  if (channels == null) throw new UsageError(`model ${source} has no fixed channel count`);
  // Re-applying a nested Sequential's layers (flattenModel) makes tfjs warn about the input
  // shapes their configs recorded; the shapes are right, and the chatter would corrupt -o -.
  const warn = console.warn;
  console.warn = () => {};
  let graph: ReturnType<typeof flattenModel>;
  try {
    graph = flattenModel(model);
  } finally {
    console.warn = warn;
  }
  return { model, graph, meta, source, inputShape: [shape[1], shape[2], channels] };
}
