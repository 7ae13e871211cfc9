import tf = require('@tensorflow/tfjs');
import { checkMemory, type MemoryBudget, type MemoryNeed } from '../backend/memory.js';
import { tileScale } from '../image/feature-grid.js';
import { type LoadedModel } from './load.js';
import { probeActivations } from './probe.js';

/** The side the layer sizes of a free-size model are measured at; larger sizes scale from it. */
const PROBE_SIDE = 64;

/**
 * Every layer's output shape (batch axis removed) when the model runs on a side x side input:
 * the model's own shapes when it has a fixed size, else one forward pass at 64 x 64 with the
 * spatial axes scaled up. Undefined when a free-size model does not run at 64 x 64.
 */
function layerShapes(loaded: LoadedModel, side: number): number[][] | undefined {
  const layers = loaded.graph.layers;
  if (loaded.inputShape[0] !== null && loaded.inputShape[1] !== null) {
    const shapes = layers.map((l) => l.outputShape.slice(1));
    return shapes.every((s) => s.every((d) => typeof d === 'number')) ? (shapes as number[][]) : undefined;
  }
  try {
    return tf.tidy(() => {
      const x = tf.zeros([1, PROBE_SIDE, PROBE_SIDE, loaded.inputShape[2]]) as tf.Tensor4D;
      const { activations } = probeActivations(loaded, x, layers.map((l) => l.index));
      const shapes = activations.map((t) => t.shape.slice(1).map((d, i) => (t.rank === 4 && i < 2 ? Math.ceil((d * side) / PROBE_SIDE) : d)));
      tf.dispose(activations);
      return shapes;
    });
  } catch {
    return undefined;
  }
}

/**
 * Peak memory of `activations` for these layers. Held at once: the requested layers' outputs
 * (tensors, then read back as float32), the two largest outputs of the pass in flight, and
 * every layer's picture (3 bytes a pixel after enlargement, and the PNG encoder's copy).
 */
export function activationsMemory(loaded: LoadedModel, indices: number[], side: number, tileSize = 64): MemoryNeed | undefined {
  const shapes = layerShapes(loaded, side);
  if (!shapes) return undefined;
  const values = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const picture = (s: number[]) => {
    if (s.length !== 3 || (s[0] === 1 && s[1] === 1)) return values(s) * 3 * Math.max(4, Math.round(tileSize / 4)) ** 2;
    return values(s) * 3 * tileScale(s[0], s[1], tileSize) ** 2;
  };
  const requested = indices.reduce((sum, i) => sum + values(shapes[i]) * 4, 0);
  const largest = shapes.map((s) => values(s) * 4).sort((a, b) => b - a).slice(0, 2).reduce((a, b) => a + b, 0);
  const pictures = indices.reduce((sum, i) => sum + 2 * picture(shapes[i]), 0);
  const tensors = requested + largest;
  return { tensors, total: tensors + requested + pictures };
}

/**
 * Refuse an `activations` run that would not fit: a free-size model at a large --size, or a
 * model whose own input is huge. `size` is --size (free-size models only); without it a
 * free-size model sees the image at most 512 px on a side.
 */
export function checkActivationsMemory(loaded: LoadedModel, indices: number[], size: number | undefined, opts: { tileSize?: number; budget?: MemoryBudget } = {}): void {
  const [h, w] = loaded.inputShape;
  const fixed = h !== null && w !== null;
  const side = size ?? Math.max(...(loaded.meta.inputSize ?? [512, 512]));
  const need = activationsMemory(loaded, indices, side, opts.tileSize);
  if (!need) return;
  const layers = indices.length === 1 ? `layer ${loaded.graph.layers[indices[0]].name}` : `${indices.length} layers`;
  if (fixed) {
    checkMemory(need, `activations of ${layers} at the model's input size ${h}x${w}`, () => 'show fewer layers with --layer', opts.budget);
  } else {
    checkMemory(need, `activations of ${layers} at --size ${side}`, (scale) => `lower it to --size ${Math.max(8, Math.floor((side * scale) / 32) * 32)}`, opts.budget);
  }
}
