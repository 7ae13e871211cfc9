/** An attribution map: one value per position, row-major, and what it explains. */
export interface AttributionMap {
  /** height * width values, row-major; larger = more evidence for the class. */
  map: Float32Array;
  width: number;
  height: number;
  /** The class explained (undefined for a class-agnostic method such as eigencam). */
  class: number;
  label: string;
  /** The class's pre-softmax score for the image. */
  score: number;
  method: string;
  /** Method-specific numbers, e.g. Integrated Gradients' fx, fBaseline and attributionSum (completeness). */
  detail?: Record<string, number>;
}

/** Where a map peaks, and its statistics. */
export interface MapStats {
  min: number;
  max: number;
  mean: number;
  sum: number;
  /** The peak's position in the map's own grid, and as fractions (0..1) of the picture's width and height (cell centres). */
  peak: { x: number; y: number; fx: number; fy: number };
}

export function mapStats(m: Pick<AttributionMap, 'map' | 'width' | 'height'>): MapStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let at = 0;
  m.map.forEach((v, i) => {
    if (v < min) min = v;
    if (v > max) {
      max = v;
      at = i;
    }
    sum += v;
  });
  const x = at % m.width;
  const y = Math.floor(at / m.width);
  return { min, max, mean: sum / m.map.length, sum, peak: { x, y, fx: (x + 0.5) / m.width, fy: (y + 0.5) / m.height } };
}

/**
 * Bilinear resampling of a map to `width` x `height` with pixel centres aligned (half-pixel
 * convention, as tf.image.resizeBilinear with halfPixelCenters and PIL): how a CAM at the
 * layer's resolution is laid over the photo.
 */
export function resizeMap(m: Pick<AttributionMap, 'map' | 'width' | 'height'>, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const sx = m.width / width;
  const sy = m.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), m.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, m.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), m.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, m.width - 1);
      const wx = fx - x0;
      const top = m.map[y0 * m.width + x0] * (1 - wx) + m.map[y0 * m.width + x1] * wx;
      const bottom = m.map[y1 * m.width + x0] * (1 - wx) + m.map[y1 * m.width + x1] * wx;
      out[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
