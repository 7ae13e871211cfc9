import path from 'node:path';
import sharp = require('sharp');
import { RuntimeError } from '../errors.js';
import { createRaster, blit, toRgb, type Raster } from '../image/raster.js';
import { drawText, textWidth, GLYPH_HEIGHT, GLYPH_WIDTH } from '../image/font.js';
import { type Box } from '../model/receptive-field.js';
import { clipBox } from './geometry.js';

/** What lies outside the photo in a crop whose field runs past its edge. */
export const OUTSIDE_GRAY = 128;

/** A photo's size as shown (after EXIF rotation), from its header only. */
export async function photoSize(file: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(file).metadata();
    const turned = (meta.orientation ?? 1) >= 5;
    return turned ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! };
  } catch (err) {
    throw new RuntimeError(`cannot read ${file} for its crop: ${(err as Error).message} (changed since it was indexed?)`);
  }
}

/**
 * Cut `box` (photo pixels, may run past the edges) out of a photo and scale it to side x side.
 * The part outside the photo stays gray, so a unit at the border shows where the border is and
 * every crop keeps the field's scale.
 */
export async function cropBox(file: string, box: Box, photo: { width: number; height: number }, side: number): Promise<Raster> {
  const tile = createRaster(side, side, 3, OUTSIDE_GRAY);
  const inside = clipBox(box, photo.width, photo.height);
  if (!inside) return tile;
  const h = box.bottom - box.top + 1;
  const w = box.right - box.left + 1;
  const at = (v: number, full: number) => Math.round((v * side) / full);
  const x0 = at(inside.left - box.left, w);
  const y0 = at(inside.top - box.top, h);
  const cw = Math.max(1, at(inside.right + 1 - box.left, w) - x0);
  const ch = Math.max(1, at(inside.bottom + 1 - box.top, h) - y0);
  const { data, info } = await sharp(file)
    .rotate()
    .extract({ left: inside.left, top: inside.top, width: inside.right - inside.left + 1, height: inside.bottom - inside.top + 1 })
    .resize({ width: cw, height: ch, fit: 'fill', kernel: 'lanczos3' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const part: Raster = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels as Raster['channels'] };
  blit(tile, part.channels === 3 ? part : toRgb(part), x0, y0);
  return tile;
}

/** Lines of label under a tile: as tall as `lines` rows of the bitmap font. */
export function labelHeight(lines: number): number {
  return lines * (GLYPH_HEIGHT + 2) + 1;
}

/** A tile with a strip of text lines under it (value, file name), each cut to the tile's width. */
export function labelTile(tile: Raster, lines: string[]): Raster {
  const out = createRaster(tile.width, tile.height + labelHeight(lines.length), 3, 255);
  blit(out, tile.channels === 3 ? tile : toRgb(tile), 0, 0);
  const fits = Math.max(1, Math.floor((tile.width + 1) / (GLYPH_WIDTH + 1)));
  lines.forEach((line, i) => {
    const text = line.length > fits ? `${line.slice(0, fits - 2)}..` : line;
    drawText(out, text, Math.max(0, Math.floor((tile.width - textWidth(text)) / 2)), tile.height + 2 + i * (GLYPH_HEIGHT + 2), [0, 0, 0]);
  });
  return out;
}

/** The label of an example: its activation, three significant digits, and the photo's name. */
export function exampleLabel(value: number, file: string): string[] {
  return [Number(value.toPrecision(3)).toString(), path.basename(file)];
}

/** A picture (a dream) scaled to side x side, to sit in a row of crops. */
export async function resizeTile(img: Raster, side: number): Promise<Raster> {
  if (img.width === side && img.height === side) return toRgb(img);
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize({ width: side, height: side, fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return toRgb({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels as Raster['channels'] });
}
