import { loadGraphModelFile } from './graph.js';
import { loadKerasFile } from './keras/load.js';
import { type LoadedModel, type LoadOptions } from './loaded.js';

export type ModelFormatLoader = (file: string, opts: LoadOptions) => Promise<LoadedModel>;

/**
 * Loaders for other file kinds (Keras .h5/.keras, graph models) register here by extension
 * or by model.json `format`, so `loadModel` stays the one door every command goes through.
 * `loadModel` imports this module before its first lookup (h5wasm itself loads only when a
 * Keras file is opened).
 */
const formatLoaders = new Map<string, ModelFormatLoader>();
export function registerModelFormat(key: string, loader: ModelFormatLoader): void {
  formatLoaders.set(key, loader);
}

/** The loader registered for a file extension (`.h5`) or a model.json `format`, if any. */
export function formatLoader(key: string): ModelFormatLoader | undefined {
  return formatLoaders.get(key);
}

for (const ext of ['.h5', '.hdf5', '.keras']) registerModelFormat(ext, loadKerasFile);
registerModelFormat('graph-model', loadGraphModelFile);
