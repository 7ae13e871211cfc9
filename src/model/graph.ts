import tf = require('@tensorflow/tfjs');
import { reasonOf, RuntimeError, UsageError } from '../errors.js';
import { readModelJson, readWeights, type ModelJson } from './fs-io.js';
import { type FlatGraph, type LayerInfo } from './layers.js';
import { buildQuietly, type LoadedModel, type LoadOptions } from './loaded.js';
import { readModelMeta } from './meta.js';

/**
 * TF.js graph models (`"format": "graph-model"`, from tensorflowjs_converter on a SavedModel)
 * are frozen TensorFlow graphs, not layers. cnnviz shows the graph nodes that produce 4-D
 * feature maps as its "layers" and reads any of them with one `GraphModel.execute` call.
 *
 * So that code written for layers models keeps working, the loaded model also comes as a
 * tfjs LayersModel whose layers run the graph: each listed node gets a symbolic `output`
 * (a GraphNode layer applied to the input), `loaded.model.predict` runs the whole graph, and
 * gradients flow through `execute()` for `dream`.
 */

interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
}

/** Ops that never hold a feature map worth showing. */
const SKIP_OPS = new Set(['Const', 'Placeholder', 'NoOp', 'Shape', 'StridedSlice', 'Pack', 'Range', 'Fill']);

/** A layer standing for one graph node: calling it executes the graph up to that node. */
class GraphNode extends tf.layers.Layer {
  static className = 'GraphNode';
  constructor(
    private readonly graphModel: tf.GraphModel,
    readonly node: string,
    private readonly shape: (number | null)[],
    name: string,
  ) {
    super({ name, trainable: false });
  }

  computeOutputShape(): tf.Shape {
    return this.shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return executeNodes(this.graphModel, Array.isArray(inputs) ? inputs[0] : inputs, [this.node])[0];
  }
}

/** GraphModel.execute returns a bare tensor for one output, an array for several. */
export function executeNodes(graphModel: tf.GraphModel, input: tf.Tensor, nodes: string[]): tf.Tensor[] {
  const out = graphModel.execute(input, nodes);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

function graphHandler(file: string, json: ModelJson): tf.io.IOHandler {
  return {
    load: async () => {
      const { specs, data } = await readWeights(file, json.weightsManifest ?? []);
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        format: json.format,
        weightSpecs: specs,
        weightData: data,
        signature: json.signature as object | undefined,
        userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
        modelInitializer: json.modelInitializer as object | undefined,
      };
    },
  };
}

/** Window attributes of conv and pool nodes: tfjs's wasm kernels read out of bounds on absurd ones. */
const WINDOW_ATTRS = ['strides', 'dilations', 'ksize'];

/**
 * A damaged graph can ask for a stride of a million: tfjs builds it, and the wasm backend's
 * kernel then aborts the whole wasm instance (every later computation in the process fails).
 * Window sizes are checked here instead, against the largest any image model uses.
 */
function checkWindowAttrs(file: string, json: ModelJson): void {
  const nodes = (json.modelTopology as { node?: unknown } | undefined)?.node;
  if (!Array.isArray(nodes)) return;
  for (const node of nodes as Array<{ name?: unknown; attr?: Record<string, { list?: { i?: unknown } }> } | null>) {
    for (const key of WINDOW_ATTRS) {
      const attr = node?.attr?.[key];
      if (attr === undefined) continue;
      // One size per axis of a 4-D (or 5-D) map; an empty list leaves tfjs computing NaN sizes.
      const values = attr?.list?.i;
      const ok = Array.isArray(values) && values.length >= 4 && values.every((v) => /^\d+$/.test(String(v)) && Number(v) >= 1 && Number(v) <= 4096);
      if (!ok) throw new UsageError(`cannot load graph model ${file}: node ${String(node?.name)} has ${key} ${JSON.stringify(values ?? attr)?.slice(0, 60)}, not window sizes from 1 to 4096 (corrupt file?)`);
    }
  }
}

export async function loadGraphModelFile(file: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const json = await readModelJson(file);
  checkWindowAttrs(file, json);
  const graphModel = await buildQuietly(`cannot build graph model from ${file}`, () => tf.loadGraphModel(graphHandler(file, json)));
  if (graphModel.inputs.length !== 1) {
    throw new UsageError(`graph model ${file} has ${graphModel.inputs.length} inputs: cnnviz visualizes single-image models`);
  }
  const inputInfo = graphModel.inputs[0];
  const shape = inputInfo.shape;
  if (!shape || shape.length !== 4 || shape[3] == null || shape[3] < 1) {
    throw new UsageError(`graph model ${file} takes input of shape [${(shape ?? []).join(', ')}]: cnnviz needs an image input [batch, height, width, channels]`);
  }
  const dim = (d: number) => (d > 0 ? d : null);
  const inputShape: [number | null, number | null, number] = [dim(shape[1]), dim(shape[2]), shape[3]];

  let meta = await readModelMeta(file, undefined);
  if (opts.inputRange) meta = { ...meta, inputRange: opts.inputRange, inputRangeSource: 'flag' };

  const nodes = ((json.modelTopology as { node?: GraphDefNode[] }).node ?? []).filter((n) => !SKIP_OPS.has(n.op));
  const outputNode = graphModel.outputNodes[0];
  const probeSide = meta.inputSize ?? [224, 224];
  const shapes = probeShapes(graphModel, [inputShape[0] ?? probeSide[0], inputShape[1] ?? probeSide[1], inputShape[2]], [...nodes.map((n) => n.name), outputNode]);
  // A model that takes any size has no fixed spatial size at any depth.
  const display = (s: number[]) => s.map((d, i) => (i === 0 || ((i === 1 || i === 2) && s.length === 4 && inputShape[0] === null) ? null : d));

  const input = tf.input({ batchShape: [null, ...inputShape], name: 'graph_input' });
  const params = paramsByNode(graphModel, json);
  const inputLayer = input.sourceLayer as tf.layers.Layer;
  const layers: LayerInfo[] = [
    { index: 0, name: inputInfo.name, className: 'Placeholder', outputShape: input.shape, params: 0, isConv: false, layer: inputLayer, output: input, node: inputInfo.name },
  ];
  const nodeLayer = (name: string, k: number) => new GraphNode(graphModel, name, display(shapes.get(name)!), `graph_node_${k}`);
  nodes.forEach((n, k) => {
    const s = shapes.get(n.name);
    if (!s || s.length !== 4 || n.name === inputInfo.name) return;
    const layer = nodeLayer(n.name, k);
    const output = layer.apply(input) as tf.SymbolicTensor;
    layers.push({ index: layers.length, name: n.name, className: n.op, outputShape: output.shape, params: params.get(n.name) ?? 0, isConv: /Conv/.test(n.op), layer, output, node: n.name, nodeInputs: n.input ?? [] });
  });
  const finalOutput = nodeLayer(outputNode, nodes.length).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: finalOutput, name: meta.name });
  const graph: FlatGraph = { inputs: [input], outputs: [finalOutput], layers };
  const graphNodes = (json.modelTopology as { node?: GraphDefNode[] }).node ?? [];
  return { kind: 'graph', model, graphModel, graphNodes, graph, meta, source: file, inputShape };
}

/** Run the graph once on zeros and record every requested node's output shape. */
function probeShapes(graphModel: tf.GraphModel, hwc: [number, number, number], names: string[]): Map<string, number[]> {
  const unique = [...new Set(names)];
  const shapes = new Map<string, number[]>();
  tf.tidy(() => {
    let outs: tf.Tensor[];
    try {
      outs = executeNodes(graphModel, tf.zeros([1, ...hwc]), unique);
    } catch (err) {
      // A graph that cannot run on a plain input of its own shape is a damaged file: exit 2.
      throw new UsageError(`cannot run graph model on a [1, ${hwc.join(', ')}] input: ${reasonOf(err)}`);
    }
    outs.forEach((t, i) => shapes.set(unique[i], t.shape));
  });
  return shapes;
}

/** Parameters a node reads directly: the sizes of its weight (Const) inputs. */
function paramsByNode(graphModel: tf.GraphModel, json: ModelJson): Map<string, number> {
  const weights = graphModel.weights;
  const out = new Map<string, number>();
  for (const n of ((json.modelTopology as { node?: GraphDefNode[] }).node ?? [])) {
    const total = (n.input ?? []).reduce((sum, i) => sum + (weights[i.split(':')[0]]?.[0]?.size ?? 0), 0);
    if (total) out.set(n.name, total);
  }
  return out;
}

/** Every weight the graph holds, for the "N parameters" line of `layers`. */
export function graphParamCount(graphModel: tf.GraphModel): number {
  return Object.values(graphModel.weights).reduce((sum, ts) => sum + (ts[0]?.size ?? 0), 0);
}

/**
 * One `execute` call for many nodes: the graph-model side of `probeActivations`. Each caller
 * gets its own tensor to dispose (the input node's "activation" is a copy of the input).
 */
export function probeGraphNodes(loaded: LoadedModel, input: tf.Tensor4D, indices: number[], withFinal: boolean): { activations: tf.Tensor[]; final?: tf.Tensor } {
  const graphModel = loaded.graphModel!;
  const inputNode = loaded.graph.layers[0].node;
  const wanted = indices.map((i) => loaded.graph.layers[i].node!);
  if (withFinal) wanted.push(graphModel.outputNodes[0]);
  const distinct = [...new Set(wanted.filter((n) => n !== inputNode))];
  const computed = distinct.length ? executeNodes(graphModel, input, distinct) : [];
  const byName = new Map(distinct.map((n, j) => [n, computed[j]]));
  const seen = new Set<string>();
  const all = wanted.map((n) => {
    if (n === inputNode) return input.clone();
    const t = byName.get(n)!;
    if (seen.has(n)) return t.clone();
    seen.add(n);
    return t;
  });
  return withFinal ? { activations: all.slice(0, -1), final: all[all.length - 1] } : { activations: all };
}
