import { drawText, textWidth, GLYPH_HEIGHT } from '../image/font.js';
import { tileGrid } from '../image/grid.js';
import { blit, createRaster, upscaleNearest, type Raster } from '../image/raster.js';
import { type Kernel } from './filters.js';
import { channelOf, planeToImage, responseRange, responseToRaster, type Plane } from './plane.js';

const CHANNEL_NAMES = ['r', 'g', 'b'];

/**
 * Convolution outputs as a picture. One gray response is drawn at exactly its computed size
 * (times `zoom`), so the PNG shows the output-size arithmetic; several kernels, or --rgb's
 * three channels, become a labelled grid, one tile each. The channels of one kernel share a
 * colour range so their strengths compare.
 */
export function convolutionFigure(results: { kernel: Kernel; output: Plane }[], cmap = 'auto', zoom = 1): Raster {
  if (results.length === 1 && results[0].output.channels === 1) return zoomWithValues(responseToRaster(results[0].output, cmap), results[0].output, zoom);
  const tiles: Raster[] = [];
  const labels: string[] = [];
  for (const { kernel, output } of results) {
    const range = responseRange(output);
    for (let c = 0; c < output.channels; c++) {
      const plane = channelOf(output, c);
      tiles.push(zoomWithValues(responseToRaster(plane, cmap, range), plane, zoom));
      const name = results.length > 1 ? kernel.name : '';
      labels.push(output.channels > 1 ? `${name} ${CHANNEL_NAMES[c] ?? c}`.trim() : name);
    }
  }
  const cols = results[0].output.channels > 1 ? results[0].output.channels : results.length === 4 ? 2 : undefined;
  const labelScale = results[0].output.width * zoom >= 160 ? 2 : 1;
  return tileGrid(tiles, { cols, gutter: 4, labels, labelScale });
}

const cellText = (v: number) => String(Number.isInteger(v) ? v : Number(v.toFixed(2)));

/**
 * `img` (one pixel per value of the one-channel `plane`) enlarged `cell` times, with each
 * value written in its cell when every value fits. The tutorial's typed matrices then read
 * as the numbers they are, and a cell as light as the white background (the maximum of a
 * gray map, zero on the diverging one) still shows as a cell. Photos, whose cells are a
 * pixel or two, come out as a plain enlargement.
 */
export function zoomWithValues(img: Raster, plane: Plane, cell: number): Raster {
  const out = upscaleNearest(img, cell);
  // Numbers are for matrix-sized planes; a photo enlarged 8x would only be covered in digits.
  if (plane.channels !== 1 || cell < 8 || plane.values.length > 4096) return out;
  const texts = Array.from(plane.values, cellText);
  const widest = Math.max(...texts.map((t) => t.length));
  const scale = [2, 1].find((k) => textWidth('0'.repeat(widest), k) <= cell - 2 && GLYPH_HEIGHT * k <= cell - 2);
  if (!scale) return out;
  texts.forEach((text, i) => {
    const [x, y] = [(i % plane.width) * cell, Math.floor(i / plane.width) * cell];
    const at = (y * out.width + x) * out.channels;
    const light = Array.from(out.data.subarray(at, at + out.channels)).reduce((a, v) => a + v, 0) / out.channels > 127;
    const ink = light ? [0, 0, 0] : [255, 255, 255];
    drawText(out, text, x + Math.floor((cell - textWidth(text, scale)) / 2), y + Math.floor((cell - GLYPH_HEIGHT * scale) / 2), ink, scale);
  });
  return out;
}

/** Enlargement for pictures too small to see (a 4x4 matrix from --matrix): the longer side reaches 64. */
export function autoZoom(p: { width: number; height: number }): number {
  const side = Math.max(p.width, p.height);
  return side < 32 ? Math.ceil(64 / side) : 1;
}

/**
 * Pooling side by side: the input, the output at its true (smaller) pixel size, and the
 * output enlarged by the stride back to about the input's size, so the loss of detail shows.
 * `range` is the value range mapped to black..white (0..1 for images).
 */
export function poolFigure(input: Plane, output: Plane, stride: number, range: [number, number], zoom = 1): Raster {
  const [lo, hi] = range;
  const inImg = zoomWithValues(planeToImage(input, lo, hi), input, zoom);
  const outImg = planeToImage(output, lo, hi);
  const onCanvas = (img: Raster) => {
    const canvas = createRaster(inImg.width, inImg.height, inImg.channels, 255);
    blit(canvas, img, 0, 0);
    return canvas;
  };
  const tiles = [inImg, onCanvas(zoomWithValues(outImg, output, zoom)), onCanvas(zoomWithValues(outImg, output, zoom * stride))];
  const labels = [`input ${input.width}x${input.height}`, `output ${output.width}x${output.height}`, `output x${stride}`];
  const labelScale = input.width * zoom >= 160 ? 2 : 1;
  return tileGrid(tiles, { cols: 3, gutter: 4, labels, labelScale });
}
