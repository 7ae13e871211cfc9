import { UsageError } from '../errors.js';
import { type LayerInfo } from './layers.js';

/** A feature map with height and width of at least 2 (a size the model leaves open counts). */
export function isSpatial(info: Pick<LayerInfo, 'outputShape'>): boolean {
  const s = info.outputShape;
  return s.length === 4 && (s[1] == null || s[1] >= 2) && (s[2] == null || s[2] >= 2);
}

/**
 * The deepest layer that still has a spatial extent of at least 2x2: where a classifier's
 * feature maps end and its head (pooling, flatten, dense, 1x1 reshapes) begins. On MobileNet
 * v1 that is `conv_pw_13_relu` (7x7x256). Transfer learning cuts a backbone here by default,
 * and attribution maps are read here by default: one rule for both.
 */
export function lastSpatialLayer(layers: readonly Pick<LayerInfo, 'outputShape' | 'className'>[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].className !== 'InputLayer' && isSpatial(layers[i])) return i;
  throw new UsageError(`the model has no layer with a spatial output of at least 2x2 (its ${layers.length} layers end in ${JSON.stringify(layers[layers.length - 1]?.outputShape ?? [])}): name a layer explicitly`);
}
