import sharp = require('sharp');
import { UsageError } from '../errors.js';
import { tileGrid } from '../image/grid.js';
import { createRaster, type Raster } from '../image/raster.js';

export interface ChannelsOptions {
  /** Show each plane in gray instead of tinted with its own colour. */
  gray?: boolean;
  /** Extra panels: the image with only this many pixels along its longer side. */
  resolutions?: number[];
}

export interface ChannelsFigure {
  raster: Raster;
  channels: { name: string; min: number; max: number; mean: number }[];
  resolutions: { pixels: number; width: number; height: number }[];
}

const NAMES = ['red', 'green', 'blue'];

/** One plane of an RGB raster, kept in its own colour (tinted) or repeated into gray. */
function planeTile(img: Raster, c: number, gray: boolean): Raster {
  const out = createRaster(img.width, img.height, 3);
  for (let i = 0; i < img.width * img.height; i++) {
    const v = img.data[3 * i + c];
    if (gray) out.data.fill(v, 3 * i, 3 * i + 3);
    else out.data[3 * i + c] = v;
  }
  return out;
}

async function resize(img: Raster, width: number, height: number, kernel: 'nearest' | 'lanczos3'): Promise<Raster> {
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize({ width, height, fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: img.channels };
}

/** The image with `pixels` samples along its longer side, blown back up with visible blocks. */
async function atResolution(img: Raster, pixels: number): Promise<{ tile: Raster; width: number; height: number }> {
  const f = pixels / Math.max(img.width, img.height);
  const small = await resize(img, Math.max(1, Math.round(img.width * f)), Math.max(1, Math.round(img.height * f)), 'lanczos3');
  return { tile: await resize(small, img.width, img.height, 'nearest'), width: small.width, height: small.height };
}

/**
 * The tutorial's "an image is three grids of numbers" picture: the original, then its red,
 * green and blue planes; optionally a row of the same image at fewer pixels.
 */
export async function channelsFigure(img: Raster, opts: ChannelsOptions = {}): Promise<ChannelsFigure> {
  if (img.channels !== 3) throw new Error(`channelsFigure: expected RGB, got ${img.channels} channels`);
  const tiles: Raster[] = [img];
  const labels = [`${img.width}x${img.height}`];
  const channels = NAMES.map((name, c) => {
    tiles.push(planeTile(img, c, !!opts.gray));
    labels.push(name);
    let min = 255;
    let max = 0;
    let sum = 0;
    for (let i = c; i < img.data.length; i += 3) {
      const v = img.data[i];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    return { name, min, max, mean: sum / (img.width * img.height) };
  });
  const resolutions = [];
  for (const pixels of opts.resolutions ?? []) {
    if (pixels < 1 || pixels > Math.max(img.width, img.height)) {
      throw new UsageError(`bad --resolution ${pixels}: expected 1 to ${Math.max(img.width, img.height)} (the image's longer side)`);
    }
    const { tile, width, height } = await atResolution(img, pixels);
    tiles.push(tile);
    labels.push(`${width}x${height}`);
    resolutions.push({ pixels, width, height });
  }
  const labelScale = img.width >= 160 ? 2 : 1;
  return { raster: tileGrid(tiles, { cols: 4, gutter: 4, labels, labelScale }), channels, resolutions };
}
