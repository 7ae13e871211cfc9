import tf = require('@tensorflow/tfjs');

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;

/** One addressable layer of a (possibly nested) model, flattened into a single list. */
export interface LayerInfo {
  index: number;
  /** `outer/inner` for layers inside a nested model. */
  name: string;
  className: string;
  /** Output shape with the batch axis, e.g. [null, 56, 56, 64]. */
  outputShape: (number | null)[];
  params: number;
  activation?: string;
  /** Conv-like layers carry spatial kernels: the ones `kernels` and `dream` care most about. */
  isConv: boolean;
  layer: Layer;
  /** The layer's output in the flattened graph, usable as a probe-model output. */
  output: Sym;
  /** Graph models only: the graph node this entry shows (what `GraphModel.execute` fetches). */
  node?: string;
  /** Graph models only: the node's inputs as the GraphDef names them (a conv's filter is the second). */
  nodeInputs?: string[];
}

export interface FlatGraph {
  inputs: Sym[];
  outputs: Sym[];
  layers: LayerInfo[];
}

const isModel = (layer: Layer): layer is tf.LayersModel => layer instanceof tf.LayersModel;

function activationOf(layer: Layer): string | undefined {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const a = cfg.activation;
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && 'class_name' in a) return String((a as { class_name: unknown }).class_name);
  if (layer.getClassName() === 'ReLU') return cfg.maxValue != null ? `relu(max ${cfg.maxValue})` : 'relu';
  if (layer.getClassName() === 'LeakyReLU') return 'leaky_relu';
  return undefined;
}

function describe(layer: Layer, name: string, output: Sym, index: number): LayerInfo {
  const className = layer.getClassName();
  return {
    index,
    name,
    className,
    outputShape: output.shape,
    params: layer.countParams(),
    activation: activationOf(layer),
    isConv: /Conv/.test(className),
    layer,
    output,
  };
}

/**
 * Flatten a model into one list of layers, in Keras order (an InputLayer counts when the
 * model has one, as `model.summary()` shows it). A functional model used as a layer, as in
 * transfer learning, is opened up: its layers are re-applied to the outer graph's tensors
 * (sharing their weights) so each inner layer gets an output a probe model can reach.
 */
export function flattenModel(model: tf.LayersModel): FlatGraph {
  const layers: LayerInfo[] = [];
  const hasNested = model.layers.some(isModel);
  if (!hasNested) {
    for (const layer of model.layers) {
      const out = layer.getClassName() === 'InputLayer' ? layer.output : layer.inboundNodes[0].outputTensors[0];
      layers.push(describe(layer, layer.name, out as Sym, layers.length));
    }
    return { inputs: model.inputs, outputs: model.outputs, layers };
  }
  const outputs = rewire(model, model.inputs, '', layers, true);
  return { inputs: model.inputs, outputs, layers };
}

/** Re-apply `model`'s layers to `inputs`, recording each layer's new output in `layers`. */
function rewire(model: tf.LayersModel, inputs: Sym[], prefix: string, layers: LayerInfo[], top: boolean): Sym[] {
  const record = (layer: Layer, out: Sym) => layers.push(describe(layer, prefix + layer.name, out, layers.length));
  const applyOne = (layer: Layer, args: Sym[]): Sym[] => {
    if (isModel(layer)) return rewire(layer, args, `${prefix}${layer.name}/`, layers, false);
    const out = layer.apply(args.length === 1 ? args[0] : args) as Sym | Sym[];
    const outs = Array.isArray(out) ? out : [out];
    record(layer, outs[0]);
    return outs;
  };

  if (model instanceof tf.Sequential) {
    let x = inputs;
    for (const layer of model.layers) {
      if (layer.getClassName() === 'InputLayer') {
        if (top) record(layer, x[0]);
        continue;
      }
      x = applyOne(layer, x);
    }
    return x;
  }

  const known = new Map<number, Sym>();
  model.inputs.forEach((t, i) => known.set(t.id, inputs[i]));
  const containerNodes = (model as unknown as { containerNodes: Set<string> }).containerNodes;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') {
      // Only the outermost input is a layer of its own; inner ones just alias the outer tensor.
      if (top) record(layer, known.get((layer.output as Sym).id)!);
      continue;
    }
    layer.inboundNodes.forEach((node, i) => {
      if (!containerNodes.has(`${layer.name}_ib-${i}`)) return;
      const args = node.inputTensors.map((t) => known.get(t.id)!);
      const outs = applyOne(layer, args);
      node.outputTensors.forEach((t, j) => known.set(t.id, outs[j]));
    });
  }
  return model.outputs.map((t) => known.get(t.id)!);
}
