import tf = require('@tensorflow/tfjs');
import { windowGeometry, type Geometry } from './geometry.js';
import { type Plane } from './plane.js';

export type PoolMode = 'max' | 'avg';
export const POOL_MODES: readonly PoolMode[] = ['max', 'avg'];

export interface PoolOptions {
  size?: number;
  stride?: number;
  mode?: PoolMode;
  exact?: boolean;
}

/** K×K pooling without padding, per channel: 2x2 max with stride 2 halves the picture. */
export function pool(input: Plane, opts: PoolOptions = {}): { output: Plane; geometry: Geometry } {
  const size = opts.size ?? 2;
  const stride = opts.stride ?? size;
  const geometry = windowGeometry(input, { rows: size, cols: size }, stride, 'valid', opts.exact);
  const result = tf.tidy(() => {
    const x = tf.tensor4d(input.values, [1, input.height, input.width, input.channels]);
    return opts.mode === 'avg' ? tf.avgPool(x, size, stride, 'valid') : tf.maxPool(x, size, stride, 'valid');
  });
  const values = new Float32Array(result.dataSync());
  result.dispose();
  return { output: { values, width: geometry.width.output, height: geometry.height.output, channels: input.channels }, geometry };
}
