import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { executeNodes } from '../model/graph.js';
import { type LayerInfo } from '../model/layers.js';
import { type LoadedModel } from '../model/load.js';

/**
 * Where a model's class scores come from: the output of one layer (or graph node) that a
 * forward pass computes, and how that output becomes the scores [B, classes].
 */
export interface LogitsSource {
  /** The layer (layers models) or graph node (graph models) whose output the scores are made of. */
  layer?: number;
  node?: string;
  name: string;
  classes: number;
  /** [B, classes] from the source's output; runs inside the caller's tidy. */
  scores(output: tf.Tensor, batch: number): tf.Tensor;
}

const SQUASHING = /^(softmax|sigmoid)$/i;
const PASS_THROUGH = /^(Reshape|Flatten|Dropout|SpatialDropout\dD|GaussianNoise|GaussianDropout)$/;

/**
 * The classifier's pre-activation scores. A softmax probability saturates and can rise by
 * suppressing the other classes; the logit can only rise by looking more like the class.
 * A one-unit sigmoid head gives two scores, one per class (see twoClassIfOneUnit).
 */
export function logitsSource(loaded: LoadedModel): LogitsSource {
  return twoClassIfOneUnit(loaded.graphModel ? graphLogits(loaded, loaded.graphModel) : layersLogits(loaded));
}

/**
 * A one-unit head (sigmoid, P(second class)) has a single logit z for two classes: z is the
 * log-odds of class 1 and -z those of class 0 (logit(1 - p) = -z). So it reads as the two
 * scores [-z, z], and each class is maximized by its own sign of z.
 */
function twoClassIfOneUnit(source: LogitsSource): LogitsSource {
  if (source.classes !== 1) return source;
  return {
    ...source,
    classes: 2,
    scores: (output, batch) => {
      const z = source.scores(output, batch).reshape([batch, 1]);
      return tf.concat([z.neg(), z], 1);
    },
  };
}

/**
 * Walks back from the output over reshapes, dropout and a separate softmax Activation; a
 * Dense or 1x1 conv head with a built-in softmax is re-applied without it.
 */
function layersLogits(loaded: LoadedModel): LogitsSource {
  const layers = loaded.graph.layers;
  const byOutput = new Map(layers.map((l) => [l.output.id, l]));
  // The layer feeding `l` (nested models are flattened, so fall back to list order).
  const feeding = (l: LayerInfo) => {
    const inbound = l.layer.inboundNodes[0]?.inputTensors?.[0] as tf.SymbolicTensor | undefined;
    return inbound && l.index > 0 ? byOutput.get(inbound.id) ?? layers[l.index - 1] : undefined;
  };
  let info = layers[layers.length - 1];
  for (;;) {
    const cls = info.className;
    const prev = feeding(info);
    if (!prev) break;
    if (PASS_THROUGH.test(cls) || (cls === 'Activation' && SQUASHING.test(info.activation ?? ''))) {
      info = prev;
      continue;
    }
    break;
  }
  const flatSize = (shape: (number | null)[]) => shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  if (info.activation && SQUASHING.test(info.activation) && (info.className === 'Dense' || info.className === 'Conv2D')) {
    const feeder = feeding(info);
    if (!feeder) throw new UsageError(`cannot find the input of layer ${info.name} to compute its logits`);
    const head = info;
    // Re-run the head's linear part on its own input: weights are read at each pass, not copied.
    const scores = (h: tf.Tensor, batch: number) => {
      const [kernel, bias] = head.layer.getWeights();
      const z = head.className === 'Dense' ? tf.matMul(h.reshape([batch, -1]), kernel) : tf.conv2d(h as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same');
      return (bias ? z.add(bias) : z).reshape([batch, -1]);
    };
    return { layer: feeder.index, name: `logits of ${head.name}`, classes: head.outputShape[head.outputShape.length - 1] as number, scores };
  }
  if (info.activation && SQUASHING.test(info.activation)) {
    throw new UsageError(`cannot find the pre-activation scores of layer ${info.name} (${info.className} with ${info.activation}): use --objective channel on an earlier layer`);
  }
  const n = flatSize(info.outputShape);
  return { layer: info.index, name: `logits of ${info.name}`, classes: n, scores: (out, batch) => out.reshape([batch, n]) };
}

/** Graph ops a class score passes through unchanged on its way to the output. */
const GRAPH_PASS_THROUGH = new Set(['Reshape', 'Squeeze', 'Identity', 'Softmax', 'Sigmoid']);

/**
 * A graph model's pre-softmax node: walk back from the output node over Softmax/Sigmoid and
 * reshapes to the first node that computes something. It is the logits when its output is
 * a vector of scores ([B, n], or [B, 1, 1, n] from a 1x1-conv head) and no activation is
 * fused into it; otherwise there is no such node to read.
 */
function graphLogits(loaded: LoadedModel, graphModel: tf.GraphModel): LogitsSource {
  const refuse = (why: string) =>
    new UsageError(`--objective logit: ${why}, so this graph model has no pre-softmax scores to maximize: use --layer -1 --filter N (a channel of the last listed layer) instead`);
  const nodeName = (ref: string) => ref.replace(/^\^/, '').replace(/:\d+$/, '');
  const byName = new Map((loaded.graphNodes ?? []).map((n) => [n.name, n]));
  const output = nodeName(graphModel.outputNodes[0]);
  let node = byName.get(output);
  while (node && GRAPH_PASS_THROUGH.has(node.op)) {
    const input = (node.input ?? []).find((i) => !i.startsWith('^'));
    node = input ? byName.get(nodeName(input)) : undefined;
  }
  if (!node || node.op === 'Placeholder' || node.op === 'Const') throw refuse(`the output node '${output}' reads no computed node`);
  const fused = (node.attr?.fused_ops as { list?: { s?: string[] } } | undefined)?.list?.s?.map((s) => Buffer.from(s, 'base64').toString()) ?? [];
  const squash = fused.find((op) => SQUASHING.test(op));
  if (squash) throw refuse(`node '${node.name}' (${node.op}) has its ${squash} fused in`);
  const name = node.name;
  const [h, w, c] = loaded.inputShape;
  const probeSide = loaded.meta.inputSize ?? [224, 224];
  const shape = tf.tidy(() => executeNodes(graphModel, tf.zeros([1, h ?? probeSide[0], w ?? probeSide[1], c]), [name])[0].shape.slice(1));
  const vector = shape.length === 1 || (shape.length === 3 && shape[0] === 1 && shape[1] === 1);
  if (!vector) throw refuse(`node '${name}' (${node.op}) outputs [${shape.join(', ')}], not a vector of class scores`);
  const n = shape[shape.length - 1];
  return { node: name, name: `logits of ${name}`, classes: n, scores: (out, batch) => out.reshape([batch, n]) };
}
