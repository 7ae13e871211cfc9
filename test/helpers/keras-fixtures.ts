import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { h5wasm, type H5Group } from '../../src/model/keras/h5.js';

/**
 * Writers for Keras files, so tests need no Python: Keras 2 `model.save('m.h5')` HDF5 files
 * (root attribute model_config, group model_weights/<layer>/ with weight_names) and Keras 3
 * `.keras` zips (config.json, metadata.json, model.weights.h5 laid out as saving_lib does).
 */

export type WeightArrays = Array<{ shape: number[]; values: Float32Array | BigInt64Array }>;

const isModel = (l: tf.layers.Layer): l is tf.LayersModel => l instanceof tf.LayersModel;

function ensureGroup(parent: H5Group, name: string): H5Group {
  return (parent.get(name) as H5Group | null) ?? parent.create_group(name);
}

function writeDataset(group: H5Group, name: string, shape: number[], values: Float32Array | BigInt64Array): void {
  const parts = name.split('/');
  const leaf = parts.pop()!;
  let g = group;
  for (const p of parts) g = ensureGroup(g, p);
  g.create_dataset({ name: leaf, data: values, shape });
}

/** Keras 2 weight names of a top-level layer: `<layer>/<variable>:0`, nested models by inner layer. */
function keras2Weights(layer: tf.layers.Layer): Array<{ name: string; shape: number[]; values: Float32Array }> {
  const leaves = isModel(layer) ? layer.layers.filter((l) => l.weights.length > 0) : [layer];
  return leaves.flatMap((l) =>
    l.weights.map((w) => ({ name: `${l.name}/${w.originalName.split('/').pop()}:0`, shape: w.shape as number[], values: w.read().dataSync() as Float32Array })),
  );
}

export interface Keras2Options {
  /** Replace the config tfjs writes (to plant a Lambda or an unknown class). */
  config?: unknown;
  kerasVersion?: string;
  /** Write model.save_weights output instead: no model_config, weights at the root. */
  weightsOnly?: boolean;
}

/** Write `model` as a Keras 2 HDF5 file, using the Keras-2-style config tfjs itself produces. */
export async function writeKeras2H5(file: string, model: tf.LayersModel, opts: Keras2Options = {}): Promise<string> {
  const h5 = await h5wasm();
  const f = new h5.File(file, 'w');
  try {
    f.create_attribute('keras_version', opts.kerasVersion ?? '2.15.0');
    f.create_attribute('backend', 'tensorflow');
    const topology = model.toJSON(null, false) as unknown as { class_name: string; config: unknown };
    if (!opts.weightsOnly) f.create_attribute('model_config', JSON.stringify(opts.config ?? { class_name: topology.class_name, config: topology.config }));
    const root = opts.weightsOnly ? f : f.create_group('model_weights');
    root.create_attribute('layer_names', model.layers.map((l) => l.name));
    for (const layer of model.layers) {
      const g = root.create_group(layer.name);
      const weights = keras2Weights(layer);
      if (weights.length) g.create_attribute('weight_names', weights.map((w) => w.name));
      for (const w of weights) writeDataset(g, w.name, w.shape, w.values);
    }
  } finally {
    f.close();
  }
  return file;
}

/** Slot path (`layers/conv2d`) → variables, in the order Keras 3 saves them. */
export type Keras3Weights = Record<string, WeightArrays>;

export interface Keras3Options {
  /** Leave these entries out of the zip (to test the errors). */
  omit?: string[];
  /** Extra zip entries. */
  extra?: Record<string, Uint8Array>;
}

/** Write a Keras 3 `.keras` archive from a config.json object and its variables by slot. */
export async function writeKeras3Zip(file: string, config: unknown, weights: Keras3Weights, opts: Keras3Options = {}): Promise<string> {
  const h5 = await h5wasm();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnnviz-k3-'));
  const weightsFile = path.join(dir, 'model.weights.h5');
  const f = new h5.File(weightsFile, 'w');
  try {
    f.create_group('vars');
    for (const [slot, arrays] of Object.entries(weights)) {
      let g: H5Group = f;
      for (const part of slot.split('/')) {
        g = ensureGroup(g, part);
        ensureGroup(g, 'vars');
      }
      const vars = g.get('vars') as H5Group;
      arrays.forEach((a, i) => writeDataset(vars, String(i), a.shape, a.values));
    }
  } finally {
    f.close();
  }
  const entries: Record<string, Uint8Array> = {
    'metadata.json': strToU8(JSON.stringify({ keras_version: '3.6.0', date_saved: '2026-11-28@12:00:00' })),
    'config.json': strToU8(JSON.stringify(config)),
    'model.weights.h5': new Uint8Array(readFileSync(weightsFile)),
    ...opts.extra,
  };
  rmSync(dir, { recursive: true, force: true });
  for (const name of opts.omit ?? []) delete entries[name];
  writeFileSync(file, zipSync(entries));
  return file;
}

/** The variables of a tfjs layer as Keras 3 stores them (trainable, then non-trainable). */
export function layerArrays(layer: tf.layers.Layer): WeightArrays {
  return layer.weights.map((w) => ({ shape: w.shape as number[], values: w.read().dataSync() as Float32Array }));
}

/** Deterministic pseudo-random numbers, so fixtures are the same on every run. */
export function seededValues(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 0xffffffff) * 2 - 1) * scale;
  }
  return out;
}

/** Give every weight of a model seeded values (BatchNorm variances kept positive). */
export function randomizeWeights(model: tf.LayersModel, seed = 1): void {
  model.weights.forEach((w, i) => {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    let v = seededValues(n, seed * 1000 + i + 1);
    if (/variance$/.test(w.originalName)) v = v.map((x) => Math.abs(x) + 0.5);
    const t = tf.tensor(v, w.shape as number[]);
    w.write(t);
    t.dispose();
  });
}

// Keras 3 config pieces, spelled as keras/src/saving/serialization_lib writes them.
export const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

export function kerasTensor(layer: string, shape: (number | null)[], node = 0): unknown {
  return { class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [layer, node, 0] } };
}

export function k3Layer(className: string, name: string, config: Record<string, unknown>, args?: unknown, inputShape?: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {
    module: 'keras.layers',
    class_name: className,
    config: { name, trainable: true, dtype: POLICY, ...config },
    registered_name: null,
  };
  if (inputShape !== undefined) out.build_config = { input_shape: inputShape };
  if (args !== undefined) {
    out.name = name;
    out.inbound_nodes = [{ args: [args], kwargs: {} }];
  }
  return out;
}

export function k3Input(name: string, batchShape: (number | null)[], inFunctional: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    module: 'keras.layers',
    class_name: 'InputLayer',
    config: { batch_shape: batchShape, dtype: 'float32', sparse: false, name },
    registered_name: null,
  };
  if (inFunctional) {
    out.name = name;
    out.inbound_nodes = [];
  }
  return out;
}

/** Largest absolute difference between what two models predict for `x` (which is disposed). */
export function predictionGap(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): number {
  const gap = tf.tidy(() => (a.predict(x) as tf.Tensor).sub(b.predict(x) as tf.Tensor).abs().max().dataSync()[0]);
  x.dispose();
  return gap;
}

/** A Keras 3 Sequential config.json around the given layer entries. */
export function k3Sequential(name: string, inputShape: (number | null)[], layers: unknown[]): Record<string, unknown> {
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: { name, trainable: true, dtype: POLICY, layers: [k3Input('input_layer', inputShape, false), ...layers], build_input_shape: inputShape },
    registered_name: null,
    build_config: { input_shape: inputShape },
  };
}
