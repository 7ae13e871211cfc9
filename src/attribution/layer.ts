import tf = require('@tensorflow/tfjs');
import { UsageError } from '../errors.js';
import { logitsSource } from '../dream/logits.js';
import { resolveLayer } from '../model/address.js';
import { isSpatial } from '../model/default-layer.js';
import { needsFixedInput } from '../model/fixed-input.js';
import { type LayerInfo } from '../model/layers.js';
import { type LoadedModel } from '../model/load.js';

/**
 * Which layer a CAM reads. The default is the last layer with a spatial extent of at least
 * 2x2 whose output reaches the classifier, skipping pooling layers and 1x1 "logits"
 * convolutions (a 1x1 conv with one output channel per class, and anything after it), the
 * two choices that give flat maps in other tools.
 */

const POOLING = /Pool/;

/** A 1x1 convolution with one filter per class: a classifier head, not a feature map. */
function isLogitsConv(info: LayerInfo, classes: number): boolean {
  if (info.className !== 'Conv2D' && !/Conv2D/.test(info.className)) return false;
  const channels = info.outputShape[info.outputShape.length - 1];
  const cfg = info.layer.getConfig() as { kernelSize?: number | number[] };
  const k = cfg.kernelSize === undefined ? undefined : typeof cfg.kernelSize === 'number' ? [cfg.kernelSize, cfg.kernelSize] : cfg.kernelSize;
  return channels === classes && k !== undefined && k.every((d) => d === 1);
}

/** Indices of the layers the classifier's scores are computed from (layers models: by walking inbound nodes). */
function ancestorsOfScores(loaded: LoadedModel): Set<number> | undefined {
  if (loaded.graphModel) return undefined;
  const layers = loaded.graph.layers;
  const source = logitsSource(loaded);
  const byOutput = new Map(layers.map((l) => [l.output.id, l.index]));
  const seen = new Set<number>();
  const visit = (sym: tf.SymbolicTensor) => {
    const i = byOutput.get(sym.id);
    if (i !== undefined) {
      if (seen.has(i)) return;
      seen.add(i);
    }
    for (const input of sym.inputs ?? []) visit(input);
  };
  visit(layers[source.layer!].output);
  return seen;
}

/** Whether a CAM can read layer `info`: an output with a height and width of at least 2. */
export function checkCamLayer(info: LayerInfo): void {
  if (!isSpatial(info) || info.className === 'InputLayer') {
    const shape = JSON.stringify(info.outputShape);
    throw new UsageError(`layer ${info.index} ${info.name} has output ${shape}, no spatial extent of at least 2x2: a CAM needs a feature map (give an earlier convolution's layer, or omit --layer)`);
  }
}

/** The default CAM layer (see above). */
export function defaultCamLayer(loaded: LoadedModel): number {
  const layers = loaded.graph.layers;
  const classes = logitsSource(loaded).classes;
  const reaches = ancestorsOfScores(loaded);
  // A 1x1 logits conv, and whatever follows it (its activation, a reshape), are the head.
  let end = layers.length;
  for (let i = layers.length - 1; i > 0; i--) if ((!reaches || reaches.has(i)) && isLogitsConv(layers[i], classes)) {
    end = i;
    break;
  }
  for (let i = end - 1; i > 0; i--) {
    const info = layers[i];
    if (reaches && !reaches.has(i)) continue;
    if (!isSpatial(info) || POOLING.test(info.className)) continue;
    return i;
  }
  throw new UsageError(`the model has no layer with a spatial output of at least 2x2 before its classifier: give --layer`);
}

/** --layer for a CAM (an index or a name, as everywhere), or the default; checked to have a spatial extent. */
export function camLayer(loaded: LoadedModel, spec?: string | number): number {
  const layers = loaded.graph.layers;
  const index = spec === undefined ? defaultCamLayer(loaded) : resolveLayer(spec, layers);
  checkCamLayer(layers[index]);
  return index;
}

/**
 * Refuses (UsageError) a model that cannot run a CAM at an image's own size (cam
 * --input-scale native): its scores must not need the model's input size, as they don't
 * where the network is convolutional up to a global pooling; a Flatten before the head does.
 */
export function checkNativeInput(loaded: LoadedModel, layer: number): void {
  const source = logitsSource(loaded);
  const scoresAt = source.layer ?? loaded.graph.layers.findIndex((l) => l.node === source.node);
  const verdict = needsFixedInput(loaded, [layer, ...(scoresAt >= 0 ? [scoresAt] : [])]);
  if (verdict.fixed) throw new UsageError(`--input-scale native: ${verdict.because}; use --input-scale fit`);
}
