import { type Raster } from './raster.js';

/**
 * A 3×5 bitmap font for tile labels. Hand-rolled on purpose: sharp's text rendering depends
 * on whatever fonts the machine has, and labels must come out the same everywhere.
 * Each glyph is five rows of three bits, top row first.
 */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
  '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001010010010',
  '8': '111101111101111', '9': '111101111001111',
  a: '010101111101101', b: '110101110101110', c: '011100100100011', d: '110101101101110',
  e: '111100110100111', f: '111100110100100', g: '011100101101011', h: '101101111101101',
  i: '111010010010111', j: '001001001101010', k: '101101110101101', l: '100100100100111',
  m: '101111111101101', n: '110101101101101', o: '010101101101010', p: '110101110100100',
  q: '010101101110011', r: '110101110101101', s: '011100010001110', t: '111010010010010',
  u: '101101101101111', v: '101101101101010', w: '101101111111101', x: '101101010101101',
  y: '101101010010010', z: '111001010100111',
  '-': '000000111000000', '_': '000000000000111', '.': '000000000000010', ':': '000010000010000',
  '/': '001001010100100', '%': '101001010100101', '=': '000111000111000', '+': '000010111010000',
  '(': '010100100100010', ')': '010001001001010', ',': '000000000010100', ' ': '000000000000000',
  '?': '111001010000010',
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** Width in pixels of `text` at `scale`, with one pixel (scaled) between glyphs. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/** Draw `text` onto an RGB or gray raster; unknown characters show as '?'. */
export function drawText(dst: Raster, text: string, x0: number, y0: number, color: number[], scale = 1): void {
  let x = x0;
  for (const ch of text.toLowerCase()) {
    const glyph = GLYPHS[ch] ?? GLYPHS['?'];
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (glyph[gy * GLYPH_WIDTH + gx] !== '1') continue;
        fillRect(dst, x + gx * scale, y0 + gy * scale, scale, scale, color);
      }
    }
    x += (GLYPH_WIDTH + 1) * scale;
  }
}

export function fillRect(dst: Raster, x0: number, y0: number, w: number, h: number, color: number[]): void {
  const c = dst.channels;
  const xa = Math.max(0, x0);
  const xb = Math.min(dst.width, x0 + w);
  if (xb <= xa) return;
  // One row of the colour, then block copies: grids can be tens of megapixels.
  const row = new Uint8Array((xb - xa) * c);
  for (let i = 0; i < row.length; i++) row[i] = color[i % c] ?? color[0];
  for (let y = Math.max(0, y0); y < Math.min(dst.height, y0 + h); y++) dst.data.set(row, (y * dst.width + xa) * c);
}
