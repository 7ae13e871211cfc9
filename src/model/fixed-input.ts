import tf = require('@tensorflow/tfjs');
import { executeNodes } from './graph.js';
import { type LoadedModel } from './load.js';
import { type LayerInfo } from './layers.js';

/** Whether layers can only be reached from an input of the model's own size, and why. */
export interface FixedInputVerdict {
  fixed: boolean;
  /** One clause for messages, naming the layer (or graph node) that needs the fixed size. */
  because?: string;
}

/** Layers whose output no longer depends on the input's size, however they are fed. */
const GLOBAL_POOLING = /^Global(Average|Max)Pooling[123]D$/;
/** Layers that fold a spatial grid into a fixed-length vector: its length is the grid's size. */
const FLATTENING = /^(Flatten|Reshape)$/;

// Per model and layer, as the activation functions are: a graph model's check runs it once.
const verdicts = new WeakMap<LoadedModel, Map<number, FixedInputVerdict>>();

const sizeText = (loaded: LoadedModel) => {
  const [h, w] = loaded.inputShape;
  return h != null && w != null ? `the model's ${w}x${h} input` : 'a fixed input size';
};

/**
 * Does reaching `layerIndexes` need the picture at the model's own input size? A convolution,
 * pooling or elementwise layer runs at any size; a Flatten or Reshape of a grid that still
 * depends on the input's size does not (the Dense after it has weights for one length).
 * A global pooling ends that dependence, so a classifier head after it is no obstacle. A Dense
 * on a grid acts per position (on the last axis) and runs at any size. Layers models are
 * read from their graph; a graph model is run once at a second size, and a failure means fixed.
 */
export function needsFixedInput(loaded: LoadedModel, layerIndexes: number[]): FixedInputVerdict {
  let cache = verdicts.get(loaded);
  if (!cache) verdicts.set(loaded, (cache = new Map()));
  for (const index of layerIndexes) {
    let verdict = cache.get(index);
    if (!verdict) {
      verdict = loaded.graphModel ? graphVerdict(loaded, loaded.graphModel, index) : layersVerdict(loaded, index);
      cache.set(index, verdict);
    }
    if (verdict.fixed) return verdict;
  }
  return { fixed: false };
}

function layersVerdict(loaded: LoadedModel, index: number): FixedInputVerdict {
  const layers = loaded.graph.layers;
  const target = layers[index];
  const byOutput = new Map(layers.map((l) => [l.output.id, l]));
  const inputIds = new Set(loaded.graph.inputs.map((t) => t.id));
  // Does this tensor's shape follow the input's size? Memoized per tensor id: graphs share branches.
  const sized = new Map<number, boolean>();
  let culprit: { name: string; className: string } | undefined;
  const followsInput = (t: tf.SymbolicTensor): boolean => {
    if (inputIds.has(t.id)) return true;
    const known = sized.get(t.id);
    if (known !== undefined) return known;
    sized.set(t.id, false);
    const layer = t.sourceLayer;
    const node = layer.inboundNodes[t.nodeIndex];
    const inputs = (node?.inputTensors ?? []) as tf.SymbolicTensor[];
    const fed = inputs.map(followsInput).some(Boolean);
    const className = layer.getClassName();
    let result = fed;
    if (fed && GLOBAL_POOLING.test(className)) result = false;
    else if (fed && FLATTENING.test(className) && inputs.some((i) => i.shape.length > 2)) {
      culprit ??= { name: byOutput.get(t.id)?.name ?? layer.name, className };
      result = false;
    }
    sized.set(t.id, result);
    return result;
  };
  followsInput(target.output);
  if (!culprit) return { fixed: false };
  const reach = culprit.name === target.name ? '' : ` to reach ${target.name}`;
  return { fixed: true, because: `${culprit.name} (${culprit.className}) needs ${sizeText(loaded)}${reach}` };
}

/** Run the graph up to the layer's node at a second size: an exception there means it is fixed. */
function graphVerdict(loaded: LoadedModel, graphModel: tf.GraphModel, index: number): FixedInputVerdict {
  const info: LayerInfo = loaded.graph.layers[index];
  const [h, w, c] = loaded.inputShape;
  if (h == null || w == null) return { fixed: false };
  // 32 more keeps a side that was a multiple of a network's total stride (32 for most) one.
  const [h2, w2] = [h + 32, w + 32];
  const nodes = info.node ? [info.node] : graphModel.outputNodes;
  try {
    // A frozen Flatten is a Reshape to [-1, n]: at another size it may not fail but fold the
    // grid into more rows than pictures, so the batch axis must come out as it went in.
    const batch = tf.tidy(() => executeNodes(graphModel, tf.zeros([1, h2, w2, c ?? 3]), nodes)[0].shape[0]);
    if (batch === 1) return { fixed: false };
    return { fixed: true, because: `the graph folds a ${w2}x${h2} picture into ${batch} rows on the way to ${info.name} (a flatten), so it needs ${sizeText(loaded)}` };
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 120);
    return { fixed: true, because: `the graph does not run at ${w2}x${h2} on the way to ${info.name} (${reason}), so it needs ${sizeText(loaded)}` };
  }
}
