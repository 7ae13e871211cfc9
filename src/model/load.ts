import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { fileSystemHandler, readModelJson, type ModelJson } from './fs-io.js';
import { layersModelMeta } from './input-range.js';
import { buildQuietly, fromLayersModel, type LoadedModel, type LoadOptions } from './loaded.js';

export { buildQuietly, fromLayersModel, type LoadedModel, type LoadOptions } from './loaded.js';

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

export async function loadModel(given?: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const file = await resolveModelPath(given);
  // Imported on first use: the other formats' loaders stay out of start-up.
  const { formatLoader } = await import('./formats.js');
  const ext = path.extname(file).toLowerCase();
  const byExt = formatLoader(ext);
  if (byExt) return byExt(file, opts);
  const json = await readModelJson(file);
  const format = typeof json.format === 'string' ? json.format : isGraphModelJson(json) ? 'graph-model' : undefined;
  const byFormat = format ? formatLoader(format) : undefined;
  if (byFormat) return byFormat(file, opts);
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
export async function loadLayersModelFile(file: string, json: Awaited<ReturnType<typeof readModelJson>>, opts: LoadOptions, handler: tf.io.IOHandler = fileSystemHandler(file, json)): Promise<LoadedModel> {
  const model = await buildQuietly(`cannot build model from ${file}`, () => tf.loadLayersModel(handler));
  const topo = json.modelTopology as { model_config?: { config?: { name?: string } }; config?: { name?: string } };
  const kerasName = topo.model_config?.config?.name ?? topo.config?.name;
  return fromLayersModel(model, file, await layersModelMeta(model, file, kerasName), opts);
}

