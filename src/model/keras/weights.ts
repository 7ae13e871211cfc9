import tf = require('@tensorflow/tfjs');
import { RuntimeError, UsageError } from '../../errors.js';
import { type StoredWeight } from './h5.js';

type Layer = tf.layers.Layer;

const isModel = (layer: Layer): layer is tf.LayersModel => layer instanceof tf.LayersModel;

/** Layers that own variables, nested models opened up, in the order their weights are listed. */
export function leafLayers(layer: Layer): Layer[] {
  return isModel(layer) ? layer.layers.flatMap(leafLayers) : layer.weights.length > 0 ? [layer] : [];
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Set the weights of `owner` (a layer, or a nested model and all its layers) from what the
 * file stores for it. Each variable is matched by name (`<layer>/<variable>`, the way Keras 2
 * names datasets), falling back to position when the file's names don't say (Keras 3 stores
 * `0`, `1`, …; renamed layers), and every shape is checked before anything is assigned.
 */
export function assignWeights(owner: Layer, stored: StoredWeight[], where: string): void {
  const targets = leafLayers(owner).flatMap((layer) => layer.weights.map((variable) => ({ layer, variable })));
  if (targets.length !== stored.length) {
    throw new UsageError(
      `${where}: layer '${owner.name}' (${owner.getClassName()}) needs ${targets.length} weight arrays but the file has ${stored.length}` +
        (stored.length ? ` (${stored.map((s) => s.name).join(', ')})` : ''),
    );
  }
  const used = new Set<number>();
  const chosen = targets.map(({ layer, variable }, i) => {
    const short = variable.originalName.split('/').pop()!;
    const wanted = `${layer.name}/${short}`;
    let j = stored.findIndex((s, k) => !used.has(k) && (s.name === wanted || s.name.endsWith(`/${wanted}`)));
    if (j < 0) j = !used.has(i) ? i : stored.findIndex((_, k) => !used.has(k));
    used.add(j);
    const s = stored[j];
    if (!sameShape(s.shape, variable.shape as number[])) {
      throw new UsageError(
        `${where}: weight '${s.name}' of layer '${layer.name}' has shape ${shapeText(s.shape)} in the file but the rebuilt layer needs ${shapeText(variable.shape as number[])}`,
      );
    }
    return { variable, s };
  });
  for (const { variable, s } of chosen) {
    const value = tf.tensor(s.values, s.shape, 'float32');
    variable.write(value);
    value.dispose();
  }
}
