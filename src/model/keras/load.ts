import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tf = require('@tensorflow/tfjs');
import { unzipSync } from 'fflate';
import { reasonOf, RuntimeError, UsageError } from '../../errors.js';
import { buildQuietly, fromLayersModel, type LoadedModel, type LoadOptions } from '../loaded.js';
import { layersModelMeta } from '../input-range.js';
import { configName, isKerasOp, isModelConfig, translateKerasConfig, type KerasConfigEntry } from './config.js';
import './custom-layers.js';
import { fileStart, hdf5, isHdf5, isZip, openH5, readDataset, stringListAttr, textAttr, type H5File, type H5Group, type StoredWeight } from './h5.js';
import { assignWeights } from './weights.js';

const HOW_TO_SAVE = "save the whole model: model.save('model.keras') in Keras 3, model.save('model.h5') in Keras 2";

/** Open a Keras file by what it holds, not by its name: `.keras` zips, HDF5 `.h5`/`.hdf5`. */
export async function loadKerasFile(file: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const head = await fileStart(file);
  try {
    if (isZip(head)) return await loadKerasZip(file, opts);
    if (isHdf5(head)) return await loadKerasH5(file, opts);
  } catch (err) {
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    // A config of the wrong shape (a list where an object belongs) fails deep inside the
    // translation as a TypeError; it is still the file that is wrong, so say which.
    throw new UsageError(`cannot load ${file}: its Keras config is malformed (${reasonOf(err)}); corrupt file?`);
  }
  throw new UsageError(`cannot open ${file}: neither a Keras 3 .keras archive (zip) nor a Keras HDF5 file; ${HOW_TO_SAVE}`);
}

function parseConfig(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`cannot load ${where}: its model config is not valid JSON (corrupt file?)`);
  }
}

/** Rebuild the architecture in tfjs from a translated config (weights are set afterwards). */
function buildModel(config: Record<string, unknown>, file: string): Promise<tf.LayersModel> {
  return buildQuietly(`cannot build the model in ${file}`, () => tf.models.modelFromJSON({ modelTopology: { model_config: config } } as unknown as tf.io.ModelJSON));
}

async function finish(model: tf.LayersModel, file: string, name: string | undefined, opts: LoadOptions): Promise<LoadedModel> {
  return fromLayersModel(model, file, await layersModelMeta(model, file, name), opts);
}

const weightsOnly = (file: string) =>
  new UsageError(`cannot load ${file}: it holds only weights (model.save_weights), not the architecture; cnnviz needs a full model file: ${HOW_TO_SAVE}`);

/**
 * Without a model_config, Keras's own weight files still say they are Keras's: save_weights
 * writes layer_names (Keras 2) or layers/ and vars/ groups (Keras 3). Any other HDF5 file
 * (a dataset, a MATLAB file) is not a model at all, and calling it "weights only" misleads.
 */
function isKerasWeightsFile(h5: H5File): boolean {
  const attrs = h5.attrs as Record<string, unknown>;
  if ('layer_names' in attrs || 'keras_version' in attrs) return true;
  const keys = h5.keys();
  return ['model_weights', 'layers', 'vars'].some((k) => keys.includes(k));
}

const notKeras = (file: string) =>
  new UsageError(`cannot load ${file}: an HDF5 file without a Keras model config (no model_config attribute, no Keras weights): not a Keras model; ${HOW_TO_SAVE}`);

/** Keras 2 `model.save('m.h5')` (and Keras 3's legacy .h5): config attribute + model_weights group. */
export async function loadKerasH5(file: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const h5 = await openH5(file);
  try {
    const configText = hdf5(file, () => textAttr(h5, 'model_config'));
    if (!configText) throw hdf5(file, () => isKerasWeightsFile(h5)) ? weightsOnly(file) : notKeras(file);
    const config = parseConfig(configText, file);
    const keras3 = (hdf5(file, () => textAttr(h5, 'keras_version')) ?? '').startsWith('3');
    const model = await buildModel(translateKerasConfig(config, { keras3, file }), file);
    hdf5(file, () => {
      const root = (h5.get('model_weights') as H5Group | null) ?? h5;
      for (const layer of model.layers) {
        if (layer.weights.length === 0) continue;
        const group = root.get(layer.name) as H5Group | null;
        if (!group) throw new UsageError(`cannot load ${file}: no weights for layer '${layer.name}' (model_weights/${layer.name} is missing)`);
        const stored = stringListAttr(group, 'weight_names').map((n) => readDataset(h5, `${group.path}/${n}`, n.replace(/:\d+$/, '')));
        assignWeights(layer, stored, `cannot load ${file}`);
      }
    });
    return await finish(model, file, configName(config), opts);
  } finally {
    h5.close();
  }
}

/** keras.src.utils.naming.to_snake_case: how Keras 3 names a layer's slot in model.weights.h5. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The first of `candidates` that is a group holding `vars` in the weights file. */
function findSlot(h5: H5File, candidates: string[]): string | undefined {
  return candidates.find((at) => {
    const vars = h5.get(`${at}/vars`) as H5Group | null;
    return !!vars && typeof vars.keys === 'function';
  });
}

function readVars(h5: H5File, at: string): StoredWeight[] {
  const vars = h5.get(`${at}/vars`) as H5Group;
  return vars
    .keys()
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => readDataset(h5, `${vars.path}/${k}`, k));
}

/**
 * Keras 3 saving_lib stores a layer's variables under `layers/<slot>/vars/<i>`, where the
 * slot is the snake-cased class name numbered per class in layer order (`conv2d`, `conv2d_1`)
 * and nested models nest (`layers/sequential/layers/dense/vars/0`). tf.keras 2.13-2.15 used
 * the layer name under `layers/` or `_layer_checkpoint_dependencies/`: those are tried next.
 */
function assignKeras3Weights(entry: KerasConfigEntry, model: tf.LayersModel, h5: H5File, prefix: string, file: string): void {
  const raw = entry.config;
  const entries = (Array.isArray(raw) ? raw : ((raw.layers ?? []) as KerasConfigEntry[])) as KerasConfigEntry[];
  const used = new Map<string, number>();
  for (const e of entries) {
    const layerName = String((e.config as { name?: unknown }).name ?? e.name);
    // Inputs and keras.ops nodes are not in Keras's `layers` list, so they take no slot.
    if (e.class_name === 'InputLayer' || isKerasOp(e)) continue;
    const snake = toSnakeCase(e.class_name);
    const count = used.has(snake) ? used.get(snake)! + 1 : 0;
    used.set(snake, count);
    const slot = `${prefix}layers/${count === 0 ? snake : `${snake}_${count}`}`;
    const layer = model.getLayer(layerName);
    const found = findSlot(h5, [slot, `${prefix}layers/${layerName}`, `${prefix}_layer_checkpoint_dependencies/${layerName}`]);
    if (isModelConfig(e) && layer instanceof tf.LayersModel) {
      assignKeras3Weights(e, layer, h5, `${found ?? slot}/`, file);
      continue;
    }
    if (layer.weights.length === 0) continue;
    if (!found) throw new UsageError(`cannot load ${file}: no weights for layer '${layerName}' (${e.class_name}) in model.weights.h5 (looked for ${slot}/vars)`);
    assignWeights(layer, readVars(h5, found), `cannot load ${file}`);
  }
}

/** metadata.json's keras_version; it only picks activation meanings, so a bad file is ignored. */
function kerasVersionOf(metadata: Uint8Array | undefined): string {
  try {
    return String((JSON.parse(new TextDecoder().decode(metadata)) as { keras_version?: unknown }).keras_version ?? '');
  } catch {
    return '';
  }
}

/** Keras 3 `model.save('m.keras')`: a zip of config.json, metadata.json and model.weights.h5. */
export async function loadKerasZip(file: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(await fs.readFile(file)));
  } catch (err) {
    throw new UsageError(`cannot open ${file}: not a readable zip archive (${reasonOf(err)}); truncated or corrupt?`);
  }
  const names = Object.keys(entries);
  if (!entries['config.json']) {
    throw new UsageError(`cannot load ${file}: the archive has no config.json (it holds: ${names.join(', ') || 'nothing'}); a Keras 3 model file comes from model.save('model.keras')`);
  }
  const config = parseConfig(new TextDecoder().decode(entries['config.json']), file);
  // tf.keras 2.13-2.15 wrote .keras files too; their activations have Keras 2 meanings.
  const version = kerasVersionOf(entries['metadata.json']);
  const translated = translateKerasConfig(config, { keras3: !/^2\./.test(version), file });
  const weightsBytes = entries['model.weights.h5'];
  if (!weightsBytes) {
    const npz = entries['model.weights.npz'] ? ' (it stores them as model.weights.npz, which cnnviz does not read: save with the default h5 weights format)' : '';
    throw new UsageError(`cannot load ${file}: the archive has no model.weights.h5${npz}`);
  }
  const model = await buildModel(translated, file);
  // HDF5 reads from a file: give the weights one in a private temp folder, removed afterwards.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cnnviz-keras-'));
  try {
    const weightsFile = path.join(dir, 'model.weights.h5');
    await fs.writeFile(weightsFile, weightsBytes);
    const h5 = await openH5(weightsFile, 'model.weights.h5 inside a .keras archive', `${file} (its model.weights.h5)`);
    try {
      hdf5(file, () => assignKeras3Weights(config as KerasConfigEntry, model, h5, '', file));
    } finally {
      h5.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return finish(model, file, configName(config), opts);
}
