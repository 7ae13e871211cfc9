import { createRng } from '../dream/random.js';
import { resizeMap } from './map.js';

/**
 * Baseline maps that a faithfulness score is read against (issue 20: "numbers without
 * baselines mean little"). A method is worth something only where it beats these:
 *  - random: i.i.d. uniform values on the CAM layer's grid, upsampled as a CAM is (a map with
 *    the same coarseness as the method, seeded); pytorch-grad-cam's RandomCAM is also a map
 *    at the layer's resolution;
 *  - sobel: the gradient magnitude of the photo's grey levels, at full resolution, as
 *    pytorch-grad-cam's sobel_cam;
 *  - gaussian: a centred Gaussian, the photographer's centre bias.
 */

export const BASELINES = ['random', 'sobel', 'gaussian'] as const;
export type BaselineMap = (typeof BASELINES)[number];

/** An image as numbers, channels last (height * width * channels values). */
export interface Pixels {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** Uniform random values on a gridWidth x gridHeight grid, bilinearly upsampled to width x height. */
export function randomMap(width: number, height: number, gridWidth: number, gridHeight: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const grid = Float32Array.from({ length: gridWidth * gridHeight }, () => rng.next());
  return resizeMap({ map: grid, width: gridWidth, height: gridHeight }, width, height);
}

/**
 * |Sobel gradient| of the grey image (the channels' mean), edges replicated:
 * sqrt(gx^2 + gy^2) with gx = [1 2 1]^T [-1 0 1], gy its transpose.
 */
export function sobelMap(img: Pixels): Float32Array {
  const { width: w, height: h, channels: c, data } = img;
  const grey = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += data[p * c + k];
    grey[p] = s / c;
  }
  const at = (x: number, y: number) => grey[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      out[y * w + x] = Math.hypot(gx, gy);
    }
  }
  return out;
}

/** exp(-r^2 / 2 sigma^2) around the picture's centre (pixel centres), sigma = `sigma` x the shorter side. */
export function gaussianMap(width: number, height: number, sigma = 0.25): Float32Array {
  const s = sigma * Math.min(width, height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const dy = y + 0.5 - height / 2;
    for (let x = 0; x < width; x++) {
      const dx = x + 0.5 - width / 2;
      out[y * width + x] = Math.exp(-(dx * dx + dy * dy) / (2 * s * s));
    }
  }
  return out;
}
