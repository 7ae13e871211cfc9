import sharp = require('sharp');
import { toRgb, type Raster } from '../image/raster.js';

export type AnimationFormat = 'webp' | 'gif';

/** Frames of equal size as one looping animated WebP or GIF (sharp's stacked-pages raw input). */
export async function encodeAnimation(frames: Raster[], format: AnimationFormat, delayMs = 80): Promise<Buffer> {
  const rgb = frames.map(toRgb);
  const { width, height } = rgb[0];
  const stacked = Buffer.concat(rgb.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length)));
  const img = sharp(stacked, { raw: { width, height: height * rgb.length, channels: 3, pageHeight: height } });
  const delay = rgb.map(() => delayMs);
  return format === 'gif' ? img.gif({ loop: 0, delay }).toBuffer() : img.webp({ loop: 0, delay, lossless: true }).toBuffer();
}
