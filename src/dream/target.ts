import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { layerActivationFn } from '../model/layer-fn.js';
import { type LoadedModel } from '../model/load.js';
import { withFusedConvolutions } from './fuse-convs.js';

/** A differentiable map from the model's input to the tensor a dream's objective reads. */
export interface Target {
  /** What the objective reads, for messages: a layer name or "logits of <layer>". */
  name: string;
  /** Output shape without the batch axis. */
  shape: number[];
  apply(input: tf.Tensor4D): tf.Tensor;
}

/** Layer `index`'s output as a target (the shared, cached input→layer function). */
function layerOutput(loaded: LoadedModel, index: number, name = loaded.graph.layers[index].name): Target {
  const shape = loaded.graph.layers[index].outputShape.slice(1).map((d) => d ?? -1);
  const fn = layerActivationFn(loaded, index);
  return { name, shape, apply: (x) => withFusedConvolutions(loaded, index, () => fn(x)) };
}

/** The output of layer `index` of the flattened graph. */
export function layerTarget(loaded: LoadedModel, index: number): Target {
  return layerOutput(loaded, index);
}

const SQUASHING = /^(softmax|sigmoid)$/i;
const PASS_THROUGH = /^(Reshape|Flatten|Dropout|SpatialDropout\dD|GaussianNoise|GaussianDropout)$/;

/**
 * The classifier's pre-activation scores [B, classes]. A softmax probability saturates and
 * can rise by suppressing the other classes; the logit can only rise by looking more like
 * the class. Walks back from the output over reshapes, dropout and a separate softmax
 * Activation; a Dense or 1x1 conv head with a built-in softmax is re-applied without it.
 */
export function logitTarget(loaded: LoadedModel): Target {
  const layers = loaded.graph.layers;
  if (loaded.graphModel) {
    // A graph model's nodes carry no layer config to walk back through: read its last node.
    throw new UsageError('--objective logit needs a layers model (graph models have no pre-softmax layer to find): use --objective channel or neuron');
  }
  const byOutput = new Map(layers.map((l) => [l.output.id, l]));
  // The layer feeding `l` (nested models are flattened, so fall back to list order).
  const feeding = (l: (typeof layers)[number]) => {
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
  const classes = (shape: number[]) => shape[shape.length - 1];
  if (info.activation && SQUASHING.test(info.activation) && (info.className === 'Dense' || info.className === 'Conv2D')) {
    // Re-run the head's linear part on its own input: weights are read, not copied.
    const [kernel, bias] = info.layer.getWeights();
    const feeder = feeding(info);
    if (!feeder) throw new UsageError(`cannot find the input of layer ${info.name} to compute its logits`);
    const before = layerOutput(loaded, feeder.index);
    const shape = [classes(info.outputShape.slice(1) as number[])];
    const apply = (x: tf.Tensor4D) =>
      tf.tidy(() => {
        const h = before.apply(x);
        const z = info.className === 'Dense' ? tf.matMul(h.reshape([h.shape[0], -1]), kernel) : tf.conv2d(h as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same');
        const withBias = bias ? z.add(bias) : z;
        return withBias.reshape([x.shape[0], -1]);
      });
    return { name: `logits of ${info.name}`, shape, apply };
  }
  if (info.activation && SQUASHING.test(info.activation)) {
    throw new UsageError(`cannot find the pre-activation scores of layer ${info.name} (${info.className} with ${info.activation}): use --objective channel on an earlier layer`);
  }
  const base = layerOutput(loaded, info.index, `logits of ${info.name}`);
  const n = base.shape.reduce((a, b) => a * b, 1);
  return { name: base.name, shape: [n], apply: (x) => tf.tidy(() => base.apply(x).reshape([x.shape[0], n])) };
}
