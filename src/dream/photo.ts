import tf = require('@tensorflow/tfjs');
import { type LoadedModel } from '../model/load.js';
import { type Read } from './objectives/objective.js';
import { createProbe } from './probe.js';
import { toModelInput, type RenderScale } from './render.js';
import { modelInput } from './setup.js';

/**
 * A photo's activations at a read, [1, ...], as the network sees it at a render scale: at fit
 * resized to the model's input size, at native as it is (caricature, direction from photos).
 */
export function photoActivations(loaded: LoadedModel, photo: tf.Tensor4D, read: Read, scale: RenderScale): tf.Tensor {
  const input = modelInput(loaded);
  return tf.tidy(() => {
    const sized = scale === 'fit' && input.fixedSize ? tf.image.resizeBilinear(photo, input.fixedSize) : photo;
    return createProbe(loaded, [read]).apply(toModelInput(sized, input))[0];
  });
}
