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
  if (results.length === 1 && results[0].output.channels === 1) return upscaleNearest(responseToRaster(results[0].output, cmap), zoom);
  const tiles: Raster[] = [];
  const labels: string[] = [];
  for (const { kernel, output } of results) {
    const range = responseRange(output);
    for (let c = 0; c < output.channels; c++) {
      tiles.push(responseToRaster(channelOf(output, c), cmap, range));
      const name = results.length > 1 ? kernel.name : '';
      labels.push(output.channels > 1 ? `${name} ${CHANNEL_NAMES[c] ?? c}`.trim() : name);
    }
  }
  const cols = results[0].output.channels > 1 ? results[0].output.channels : results.length === 4 ? 2 : undefined;
  const labelScale = results[0].output.width * zoom >= 160 ? 2 : 1;
  return tileGrid(tiles, { cols, gutter: 4, labels, labelScale, scale: zoom });
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
  const inImg = planeToImage(input, lo, hi);
  const outImg = planeToImage(output, lo, hi);
  const onCanvas = (img: Raster) => {
    const canvas = createRaster(input.width, input.height, inImg.channels, 255);
    blit(canvas, img, 0, 0);
    return canvas;
  };
  const tiles = [inImg, onCanvas(outImg), onCanvas(upscaleNearest(outImg, stride))];
  const labels = [`input ${input.width}x${input.height}`, `output ${output.width}x${output.height}`, `output x${stride}`];
  const labelScale = input.width * zoom >= 160 ? 2 : 1;
  return tileGrid(tiles, { cols: 3, gutter: 4, labels, labelScale, scale: zoom });
}
