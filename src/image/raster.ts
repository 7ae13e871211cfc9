/**
 * The one in-memory picture type every command shares: interleaved 8-bit samples, row-major.
 * Kept deliberately plain so it moves between sharp, tensors and worker threads without copies
 * of meaning (only of bytes).
 */
export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

export function createRaster(width: number, height: number, channels: Raster['channels'], fill = 0): Raster {
  const data = new Uint8Array(width * height * channels);
  if (fill) data.fill(fill);
  return { data, width, height, channels };
}

/** Nearest-neighbour enlargement by an integer factor: feature maps must stay blocky, not blurred. */
export function upscaleNearest(src: Raster, factor: number): Raster {
  if (factor <= 1) return src;
  const out = createRaster(src.width * factor, src.height * factor, src.channels);
  blit(out, src, 0, 0, factor);
  return out;
}

/**
 * Copy `src` into `dst` with its top-left corner at (x, y), enlarged `factor` times (nearest
 * neighbour). Enlarging while copying matters: a feature grid of a whole network is tens of
 * megapixels, and each enlarged row is built once and then copied `factor` times as a block.
 */
export function blit(dst: Raster, src: Raster, x: number, y: number, factor = 1): void {
  if (dst.channels !== src.channels) throw new Error(`blit: ${src.channels} channels into ${dst.channels}`);
  const c = src.channels;
  const cols = Math.max(0, Math.min(src.width * factor, dst.width - x));
  const row = new Uint8Array(cols * c);
  for (let sy = 0; sy < src.height; sy++) {
    const from = sy * src.width * c;
    if (factor === 1) {
      row.set(src.data.subarray(from, from + cols * c));
    } else {
      for (let ox = 0; ox < cols; ox++) {
        const s = from + Math.floor(ox / factor) * c;
        for (let k = 0; k < c; k++) row[ox * c + k] = src.data[s + k];
      }
    }
    for (let fy = 0; fy < factor; fy++) {
      const dy = y + sy * factor + fy;
      if (dy >= dst.height) return;
      dst.data.set(row, (dy * dst.width + x) * c);
    }
  }
}

/** Gray to RGB by repetition, so tiles of either kind can share one grid. */
export function toRgb(src: Raster): Raster {
  if (src.channels === 3) return src;
  if (src.channels !== 1) throw new Error(`toRgb: unsupported ${src.channels}-channel raster`);
  const out = createRaster(src.width, src.height, 3);
  for (let i = 0; i < src.width * src.height; i++) {
    const v = src.data[i];
    out.data[3 * i] = v;
    out.data[3 * i + 1] = v;
    out.data[3 * i + 2] = v;
  }
  return out;
}
