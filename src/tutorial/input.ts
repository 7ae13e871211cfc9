import path from 'node:path';
import { readImage } from '../image/io.js';
import { parseMatrix, planeFromMatrix, planeFromRaster, planeStats, type Plane } from './plane.js';

export interface TutorialInput {
  plane: Plane;
  /** Values that map to black and white when drawn: 0..1 for images, min..max for a matrix. */
  range: [number, number];
  /** For default output names: the image's file stem, `matrix` or `stdin`. */
  stem: string;
  /** Size before --max-side shrank it, when it did. */
  original?: { width: number; height: number };
}

export interface TutorialInputOptions {
  /** Numbers typed on the command line instead of an image: `"1,1,2,4;5,6,7,8"`. */
  matrix?: string;
  gray?: boolean;
  /** Longer side limit; 0 keeps the image's size. */
  maxSide?: number;
  /** Largest image accepted, in megapixels (--max-pixels). */
  maxMegapixels?: number;
  /** Checks the decoded size from the image header before decoding (see DecodeOptions). */
  beforeDecode?: (width: number, height: number) => void;
}

/** The image's file stem for default output names (`stdin` for '-'). */
export function inputStem(image: string): string {
  return image === '-' ? 'stdin' : path.parse(image).name;
}

/** What a tutorial command works on: an image scaled to [0, 1], or a small matrix as typed. */
export async function loadTutorialInput(image: string | undefined, opts: TutorialInputOptions): Promise<TutorialInput> {
  if (opts.matrix !== undefined) {
    const plane = planeFromMatrix(parseMatrix(opts.matrix, '--matrix'));
    const s = planeStats(plane);
    return { plane, range: [Math.min(0, s.min), s.max > s.min ? s.max : s.min + 1], stem: 'matrix' };
  }
  const img = await readImage(image!, { channels: opts.gray ? 1 : 3, maxSide: opts.maxSide || undefined, maxMegapixels: opts.maxMegapixels, beforeDecode: opts.beforeDecode });
  return { plane: planeFromRaster(img), range: [0, 1], stem: inputStem(image!) };
}
