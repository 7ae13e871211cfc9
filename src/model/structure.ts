import { initBackend } from '../backend/select.js';
import { isGraphModelJson, loadLayersModelFile, loadModel, resolveModelPath } from './load.js';
import { readModelJson } from './fs-io.js';
import { type LoadedModel, type LoadOptions } from './loaded.js';

/**
 * A model's layer graph without its weights, for work that needs only the wiring and the
 * shapes (receptive fields: `examples --index` without `--with-dream`). Reading and decoding
 * the weights is most of a model's load time, and they would go unused. tfjs still builds
 * each layer's weights (freshly initialized), so nothing here may be run for values.
 *
 * TF.js layers model.json files are built from their topology alone; other formats (Keras
 * .h5/.keras, graph models) are loaded whole, as loadModel does.
 */
export async function loadModelStructure(given?: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const file = await resolveModelPath(given);
  if (!file.toLowerCase().endsWith('.json')) return loadModel(file, opts);
  const json = await readModelJson(file);
  const format = typeof json.format === 'string' ? json.format : undefined;
  if (!json.modelTopology || isGraphModelJson(json) || (format && format !== 'layers-model')) return loadModel(file, opts);
  // The initializers run on the cpu backend: no WebAssembly to compile for weights nobody reads.
  await initBackend('cpu');
  const topology = { load: async () => ({ modelTopology: json.modelTopology as object, format }) };
  return loadLayersModelFile(file, json, opts, topology);
}
