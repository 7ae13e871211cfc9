import tf = require('@tensorflow/tfjs');
import { UsageError } from '../../errors.js';
import { activationFor, type ScalarOpKind } from './custom-layers.js';

/**
 * Turn a Keras 2 or Keras 3 model config into the Keras-2-style JSON tfjs-layers reads.
 *
 * Keras 3 wraps every object as {module, class_name, config, registered_name}, writes dtypes as
 * DTypePolicy objects, calls the input layer's shape `batch_shape`, and records functional
 * connections as {args: [keras tensors], kwargs} instead of [[name, node, tensor, kwargs]].
 * Initializers, regularizers and constraints are dropped: the weights come from the file and
 * training settings don't matter for looking at a network, while their class names differ
 * across Keras versions.
 */

type Json = Record<string, unknown>;
const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

export interface KerasConfigEntry {
  class_name: string;
  config: Json | Json[];
  name?: string;
  inbound_nodes?: unknown[];
  module?: string;
  registered_name?: string | null;
}

interface State {
  keras3: boolean;
  file: string;
  /** Position in the flattened list `cnnviz layers` prints, for error messages. */
  index: number;
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function dtypeName(v: unknown): unknown {
  if (!isObject(v)) return v;
  const name = isObject(v.config) ? v.config.name : v.name;
  // Mixed-precision policies compute in float16 on GPUs; their weights load fine as float32.
  return typeof name === 'string' ? name.replace(/^mixed_/, '').replace(/^(b?float16)$/, 'float32') : 'float32';
}

function knownClass(cls: string): boolean {
  return cls in tf.serialization.SerializationMap.getMap().classNameMap;
}

/** The one-line error for a layer tfjs cannot rebuild, naming it, its class and its index. */
function unsupported(cls: string, name: string, state: State, registered?: string | null, module?: string): UsageError {
  if (typeof cls !== 'string' || cls === '') return new UsageError(`cannot load ${state.file}: layer entry ${state.index} has no class_name: the model config is malformed (corrupt file?)`);
  const custom = registered && registered !== cls ? `, registered as ${registered}` : '';
  const where = `layer '${name}' (index ${state.index}, class ${cls}${custom})`;
  if (/OpLambda$/.test(cls) || module?.startsWith('keras.src.ops')) {
    return new UsageError(
      `cannot load ${state.file}: ${where} is a TensorFlow/Keras operation applied to a tensor (like x + 3 or tf.nn.relu6(x)), which cnnviz cannot rebuild; use layers (Add, ReLU, Rescaling…) instead and save again`,
    );
  }
  if (/Lambda$/.test(cls)) {
    return new UsageError(
      `cannot load ${state.file}: ${where} is a Lambda layer: its Python code is not in the file; rebuild the model with built-in layers (e.g. Rescaling instead of Lambda(lambda x: x / 255)) and save it again`,
    );
  }
  return new UsageError(
    `cannot load ${state.file}: ${where} is not a layer cnnviz knows; custom layers can't be rebuilt from a file: replace it with built-in layers, or convert the model with tensorflowjs_converter`,
  );
}

function cleanLayerConfig(cls: string, config: Json, state: State): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    if (/_(initializer|regularizer|constraint)$/.test(key)) continue;
    if (key === 'dtype') out.dtype = dtypeName(value);
    else if (key === 'activation' && typeof value === 'string') out.activation = activationFor(value, state.keras3);
    // Keras 3 may wrap a built-in activation as {class_name: 'function', config: 'relu'}.
    else if (key === 'activation' && isObject(value)) out.activation = activationFor(String(typeof value.config === 'string' ? value.config : value.class_name), state.keras3);
    else out[key] = value;
  }
  if (cls === 'InputLayer') {
    if (out.batch_shape !== undefined && out.batch_input_shape === undefined) out.batch_input_shape = out.batch_shape;
    delete out.batch_shape;
    delete out.optional;
    delete out.input_tensor;
    delete out.ragged;
  }
  // Keras 2 files from TF write BatchNormalization's axis as a one-element list.
  if (Array.isArray(out.axis) && out.axis.length === 1 && cls !== 'Normalization') out.axis = out.axis[0];
  if (cls === 'ReLU' && (Number(out.negative_slope ?? 0) !== 0 || Number(out.threshold ?? 0) !== 0)) {
    throw new UsageError(`cannot load ${state.file}: layer '${String(config.name)}' (index ${state.index}, class ReLU) uses negative_slope/threshold, which cnnviz does not support`);
  }
  return out;
}

/**
 * Node numbers to add per layer name when reading Keras 3 connections. A model built with an
 * input owns a node linking its input to its output before anyone calls it, and tfjs, like
 * Keras 2, counts that node; Keras 3 counts it for nested Functional models but not for
 * nested Sequential ones, whose references are therefore one short.
 */
type NodeShift = Map<string, number>;

/** Keras 3's {args, kwargs} node → Keras 2's [[layer, node, tensor, kwargs], …]. */
function legacyNode(node: unknown, shift: NodeShift): unknown {
  if (Array.isArray(node)) return node;
  const tensors: unknown[][] = [];
  const collect = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config)) {
      const [layer, nodeIndex, tensorIndex] = v.config.keras_history as [string, number, number];
      tensors.push([layer, nodeIndex + (shift.get(layer) ?? 0), tensorIndex, {}]);
    } else if (isObject(v)) Object.values(v).forEach(collect);
  };
  collect(isObject(node) ? node.args : node);
  return tensors;
}

/** input_layers/output_layers: Keras 3 writes a single tensor as [name, 0, 0], dicts as dicts. */
function tensorList(v: unknown, shift: NodeShift): unknown {
  const list = isObject(v) ? Object.values(v) : Array.isArray(v) && typeof v[0] === 'string' ? [v] : v;
  if (!Array.isArray(list)) return list;
  return list.map((t) => (Array.isArray(t) && typeof t[0] === 'string' ? [t[0], Number(t[1]) + (shift.get(t[0]) ?? 0), ...t.slice(2)] : t));
}

function keras3NodeShift(entries: KerasConfigEntry[]): NodeShift {
  const shift: NodeShift = new Map();
  const keras3Nodes = entries.some((e) => (e.inbound_nodes ?? []).some(isObject));
  if (!keras3Nodes) return shift;
  for (const e of entries) {
    const inner = isObject(e.config) ? ((e.config.layers ?? []) as KerasConfigEntry[]) : [];
    if (e.class_name === 'Sequential' && inner[0]?.class_name === 'InputLayer') shift.set(String(e.name ?? (e.config as Json).name), 1);
  }
  return shift;
}

const SCALAR_OPS: Record<string, ScalarOpKind> = {
  // Keras 3 keras.ops classes
  Add: 'add',
  Subtract: 'sub',
  Multiply: 'mul',
  Divide: 'div',
  TrueDivide: 'div',
  // Keras 2 TFOpLambda functions
  '__operators__.add': 'add',
  'math.add': 'add',
  'math.subtract': 'sub',
  'math.multiply': 'mul',
  'math.truediv': 'div',
  'math.divide': 'div',
};

/** Is this config entry a keras.ops operation rather than a layer? */
export const isKerasOp = (entry: KerasConfigEntry) => !!entry.module?.startsWith('keras.src.ops');

/**
 * `x + 3.0`, `x * (1 / 6)` and friends, recorded as a node of their own (Keras 3 keras.ops,
 * Keras 2 TFOpLambda) with one tensor and one constant: rebuilt as a ScalarOp layer.
 * Anything else returns undefined and is reported as unsupported.
 */
function scalarOpLayer(entry: KerasConfigEntry, cls: string, config: Json, name: string, state: State, shift: NodeShift): Json | undefined {
  const nodes = entry.inbound_nodes ?? [];
  if (nodes.length !== 1) return undefined;
  let op: ScalarOpKind | undefined;
  let scalar: unknown;
  let reversed = false;
  if (isKerasOp(entry) && isObject(nodes[0]) && Array.isArray(nodes[0].args) && nodes[0].args.length === 2) {
    const args = nodes[0].args as unknown[];
    op = SCALAR_OPS[cls];
    reversed = typeof args[0] === 'number';
    scalar = reversed ? args[0] : args[1];
  } else if (cls === 'TFOpLambda' && Array.isArray(nodes[0]) && nodes[0].length === 1) {
    op = SCALAR_OPS[String(config.function)];
    scalar = ((nodes[0] as unknown[][])[0]?.[3] as Json | undefined)?.y;
  }
  if (!op || typeof scalar !== 'number') return undefined;
  const node = legacyNode(nodes[0], shift) as unknown[][];
  state.index++;
  return {
    class_name: 'ScalarOp',
    config: { name, op, scalar, reversed },
    name: entry.name ?? name,
    inbound_nodes: [node.map((t) => [...t.slice(0, 3), {}])],
  };
}

function translateLayer(entry: KerasConfigEntry, state: State, counted: boolean, shift: NodeShift): Json {
  const cls = entry.class_name;
  const config = isObject(entry.config) ? entry.config : {};
  const name = String(config.name ?? entry.name ?? cls);
  const scalarOp = isKerasOp(entry) || cls === 'TFOpLambda' ? scalarOpLayer(entry, cls, config, name, state, shift) : undefined;
  if (scalarOp) return scalarOp;
  if (!knownClass(cls) || /Lambda$/.test(cls) || isKerasOp(entry)) throw unsupported(cls, name, state, entry.registered_name, entry.module);
  const out: Json = { class_name: cls, config: cleanLayerConfig(cls, config, state) };
  if (/^Global(Average|Max)Pooling2D$/.test(cls) && config.keepdims === true) out.class_name = `${cls}KeepDims`;
  if (entry.name !== undefined) out.name = entry.name;
  if (entry.inbound_nodes !== undefined) out.inbound_nodes = entry.inbound_nodes.map((n) => legacyNode(n, shift));
  if (counted) state.index++;
  return out;
}

function translateModel(entry: KerasConfigEntry, state: State, top: boolean, outerShift: NodeShift = new Map()): Json {
  const cls = entry.class_name;
  const raw = entry.config;
  // Keras ≤ 2.2.2 wrote a Sequential's config as the bare list of layers.
  const config: Json = Array.isArray(raw) ? { layers: raw } : { ...raw };
  const entries = (config.layers ?? []) as KerasConfigEntry[];
  const sequential = cls === 'Sequential';
  const shift = keras3NodeShift(entries);
  const layers: Json[] = [];
  let pendingInput: Json | undefined;
  for (const layer of entries) {
    if (MODEL_CLASSES.has(layer.class_name)) {
      layers.push(translateModel(layer, state, false, shift));
      // A nested model (Sequential([InceptionV3(...), GAP, Dense])) brings its own input; the
      // outer InputLayer's shape must not land on the layer after it.
      pendingInput = undefined;
      continue;
    }
    if (layer.class_name === 'InputLayer' && sequential) {
      // tfjs lists an explicit InputLayer among a Sequential's layers, Keras does not: fold it
      // into the first layer's batch_input_shape as Keras 2 files do.
      pendingInput = cleanLayerConfig('InputLayer', isObject(layer.config) ? layer.config : {}, state);
      continue;
    }
    const counted = layer.class_name !== 'InputLayer' || (top && !sequential);
    const out = translateLayer(layer, state, counted, shift);
    if (pendingInput) {
      const cfg = out.config as Json;
      cfg.batch_input_shape ??= pendingInput.batch_input_shape;
      if (pendingInput.dtype) cfg.dtype ??= pendingInput.dtype;
      pendingInput = undefined;
    }
    layers.push(out);
  }
  const out: Json = {
    class_name: sequential ? 'Sequential' : 'Functional',
    config: {
      name: config.name,
      layers,
      ...(sequential ? {} : { input_layers: tensorList(config.input_layers, shift), output_layers: tensorList(config.output_layers, shift) }),
    },
  };
  if (entry.name !== undefined || !top) out.name = entry.name ?? config.name;
  if (entry.inbound_nodes !== undefined) out.inbound_nodes = entry.inbound_nodes.map((n) => legacyNode(n, outerShift));
  return out;
}

/** Is this config (the JSON of model.to_json / config.json) one of a model? */
export function isModelConfig(v: unknown): v is KerasConfigEntry {
  return isObject(v) && typeof v.class_name === 'string' && MODEL_CLASSES.has(v.class_name);
}

/**
 * Translate a whole-model config. Throws a one-line UsageError naming the first layer
 * tfjs cannot rebuild (Lambda, custom classes).
 */
export function translateKerasConfig(root: unknown, opts: { keras3: boolean; file: string }): Json {
  if (!isModelConfig(root)) {
    const cls = isObject(root) ? String(root.class_name) : typeof root;
    throw new UsageError(`cannot load ${opts.file}: its top-level object is a ${cls}, not a Sequential or Functional model`);
  }
  return translateModel(root, { ...opts, index: 0 }, true);
}

/** The model name a config gives, for display and the name-based input-range guess. */
export function configName(root: unknown): string | undefined {
  if (!isObject(root) || !isObject(root.config)) return undefined;
  return typeof root.config.name === 'string' ? root.config.name : undefined;
}
