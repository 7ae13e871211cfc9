import { type Fit } from '../image/io.js';
import { type Box } from '../model/receptive-field.js';

/** How a photo met the model: the input it was resized to, and how (sharp's resize, centred). */
export interface FitInput {
  height: number;
  width: number;
  fit: Fit;
}

/**
 * Map a box in model-input pixels back to the photo it came from (after EXIF rotation), by
 * undoing the resize: 'cover' scaled by the larger ratio and cut the middle out, 'contain'
 * scaled by the smaller and padded both sides, 'fill' stretched each axis. Not clipped: a field
 * that runs past the input's edge runs past the photo's too.
 */
export function inputBoxToPhoto(box: Box, photo: { width: number; height: number }, input: FitInput): Box {
  const sx0 = input.width / photo.width;
  const sy0 = input.height / photo.height;
  const s = input.fit === 'cover' ? Math.max(sx0, sy0) : Math.min(sx0, sy0);
  const [sx, sy] = input.fit === 'fill' ? [sx0, sy0] : [s, s];
  // Offset of the photo's resized frame within the input (negative for cover's crop).
  const ox = input.fit === 'fill' ? 0 : (input.width - photo.width * sx) / 2;
  const oy = input.fit === 'fill' ? 0 : (input.height - photo.height * sy) / 2;
  return {
    top: Math.floor((box.top - oy) / sy),
    left: Math.floor((box.left - ox) / sx),
    bottom: Math.ceil((box.bottom + 1 - oy) / sy) - 1,
    right: Math.ceil((box.right + 1 - ox) / sx) - 1,
  };
}

/** The part of a box inside a width x height picture; undefined when none is. */
export function clipBox(box: Box, width: number, height: number): Box | undefined {
  const out = { top: Math.max(0, box.top), left: Math.max(0, box.left), bottom: Math.min(height - 1, box.bottom), right: Math.min(width - 1, box.right) };
  return out.top > out.bottom || out.left > out.right ? undefined : out;
}
