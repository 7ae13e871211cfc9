import { checkMemory, type MemoryBudget, type MemoryNeed } from '../backend/memory.js';

/**
 * Peak memory of the tutorial commands on a width x height image, in bytes. The per-pixel
 * figures were measured on 25- and 100-megapixel images (peak resident memory, wasm backend)
 * and rounded up: convolve holds the decoded image, the float plane, the padded and
 * transposed tensors, each kernel's response, its coloured picture and the PNG encoder's copy.
 */
export function convolveMemory(width: number, height: number, opts: { channels: number; kernels: number; zoom: number }): MemoryNeed {
  const pixels = width * height;
  const { channels: c, kernels: k, zoom: z } = opts;
  return {
    total: pixels * (40 + c * (55 + 12 * (k - 1)) + 9 * k * c * (z * z - 1)),
    tensors: 16 * c * pixels,
  };
}

/** Pool draws three panels of the input's size (times the zoom): input, output, output enlarged. */
export function poolMemory(width: number, height: number, opts: { channels: number; zoom: number }): MemoryNeed {
  const pixels = width * height;
  return { total: pixels * (8 + 16 * opts.channels + 27 * (opts.zoom * opts.zoom - 1)), tensors: 8 * opts.channels * pixels };
}

/** Channels draws the original, its three planes and each --resolution panel at the original's size. */
export function channelsMemory(width: number, height: number, opts: { resolutions: number }): MemoryNeed {
  const pixels = width * height;
  return { total: pixels * (24 + 6 * opts.resolutions), tensors: 0 };
}

/**
 * Refuse a tutorial picture that would not fit, naming the --max-side that would. Called from
 * the image header (decodeImage's beforeDecode), so nothing has been decoded yet.
 */
export function checkTutorialMemory(command: string, width: number, height: number, need: MemoryNeed, opts: { zoom?: number; budget?: MemoryBudget } = {}): void {
  checkMemory(
    need,
    `${command} on a ${width}x${height} image${opts.zoom && opts.zoom > 1 ? ` at --zoom ${opts.zoom}` : ''}`,
    (scale) => {
      const side = Math.min(8192, Math.max(64, Math.floor((Math.max(width, height) * scale) / 64) * 64));
      return `shrink the image with --max-side ${side}${opts.zoom && opts.zoom > 1 ? ' or lower --zoom' : ''}`;
    },
    opts.budget,
  );
}

/** decodeImage `beforeDecode` hooks, one per tutorial command: each refuses a picture that would not fit. */
export const memoryGuards = {
  convolve: (opts: { channels: number; kernels: number; zoom?: number }) => (w: number, h: number) =>
    checkTutorialMemory('convolve', w, h, convolveMemory(w, h, { ...opts, zoom: opts.zoom ?? 1 }), { zoom: opts.zoom }),
  pool: (opts: { channels: number; zoom?: number }) => (w: number, h: number) =>
    checkTutorialMemory('pool', w, h, poolMemory(w, h, { ...opts, zoom: opts.zoom ?? 1 }), { zoom: opts.zoom }),
  channels: (opts: { resolutions: number }) => (w: number, h: number) => checkTutorialMemory('channels', w, h, channelsMemory(w, h, opts)),
};
