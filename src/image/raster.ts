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
  const { width, height, channels } = src;
  const out = createRaster(width * factor, height * factor, channels);
  const rowBytes = out.width * channels;
  for (let y = 0; y < height; y++) {
    const row = new Uint8Array(rowBytes);
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * channels;
      for (let fx = 0; fx < factor; fx++) {
        row.set(src.data.subarray(s, s + channels), (x * factor + fx) * channels);
      }
    }
    for (let fy = 0; fy < factor; fy++) out.data.set(row, (y * factor + fy) * rowBytes);
  }
  return out;
}

/** Copy `src` into `dst` with its top-left corner at (x, y); both must have the same channel count. */
export function blit(dst: Raster, src: Raster, x: number, y: number): void {
  if (dst.channels !== src.channels) throw new Error(`blit: ${src.channels} channels into ${dst.channels}`);
  const c = src.channels;
  const w = Math.min(src.width, dst.width - x);
  for (let row = 0; row < src.height && y + row < dst.height; row++) {
    const from = row * src.width * c;
    dst.data.set(src.data.subarray(from, from + w * c), ((y + row) * dst.width + x) * c);
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
