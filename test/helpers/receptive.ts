import * as tf from '@tensorflow/tfjs';
import { type LoadedModel } from '../../src/model/load.js';
import { probeActivations } from '../../src/model/probe.js';
import { type Box } from '../../src/model/receptive-field.js';

/** Pixels (y, x) along a line, at most `count` of them, always including both ends. */
function along(a: number, b: number, count: number): number[] {
  if (b < a) return [];
  const step = Math.max(1, Math.ceil((b - a) / (count - 1)));
  const out: number[] = [];
  for (let v = a; v < b; v += step) out.push(v);
  out.push(b);
  return out;
}

export interface EdgeProbe {
  /** Per edge: how many pixels just outside were tried, and how many changed the unit (must be 0). */
  outside: Record<string, { tried: number; changed: number }>;
  /** Per edge that lies inside the image: did some pixel on the box's own edge line change the unit? */
  inside: Record<string, boolean>;
}

/**
 * Perturb single input pixels just outside each edge of `box` and on each edge, and see whether
 * the unit (all channels at y, x of the layer) moves. Every perturbed copy runs in one batch
 * with an unperturbed copy, so the comparison is exact: a value either moves or it doesn't.
 */
export function probeEdges(loaded: LoadedModel, layer: number, y: number, x: number, box: Box, base: tf.Tensor4D, perLine = 12): EdgeProbe {
  const [, h, w, c] = base.shape;
  const pixels: { edge: string; inside: boolean; py: number; px: number }[] = [];
  const add = (edge: string, inside: boolean, py: number, pxs: number[]) => pxs.forEach((px) => pixels.push({ edge, inside, py, px }));
  const addCol = (edge: string, inside: boolean, px: number, pys: number[]) => pys.forEach((py) => pixels.push({ edge, inside, py, px }));
  const cols = along(Math.max(0, box.left - 1), Math.min(w - 1, box.right + 1), perLine);
  const rows = along(Math.max(0, box.top - 1), Math.min(h - 1, box.bottom + 1), perLine);
  if (box.top > 0) add('top', false, box.top - 1, cols);
  if (box.bottom < h - 1) add('bottom', false, box.bottom + 1, cols);
  if (box.left > 0) addCol('left', false, box.left - 1, rows);
  if (box.right < w - 1) addCol('right', false, box.right + 1, rows);
  // On the edge: every pixel of the line, both signs, so a ReLU or max-pool cannot hide all of them.
  const line = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  if (box.top > 0) add('top', true, box.top, line(box.left, box.right));
  if (box.bottom < h - 1) add('bottom', true, box.bottom, line(box.left, box.right));
  if (box.left > 0) addCol('left', true, box.left, line(box.top, box.bottom));
  if (box.right < w - 1) addCol('right', true, box.right, line(box.top, box.bottom));

  const baseData = base.dataSync();
  const outside: EdgeProbe['outside'] = {};
  const inside: EdgeProbe['inside'] = {};
  const batchSize = 32;
  const jobs = pixels.flatMap((p) => (p.inside ? [{ ...p, delta: 50 }, { ...p, delta: -50 }] : [{ ...p, delta: 50 }]));
  for (let start = 0; start < jobs.length; start += batchSize) {
    const chunk = jobs.slice(start, start + batchSize);
    const data = new Float32Array((chunk.length + 1) * h * w * c);
    for (let i = 0; i <= chunk.length; i++) data.set(baseData, i * h * w * c);
    chunk.forEach((p, i) => {
      for (let k = 0; k < c; k++) data[(i + 1) * h * w * c + (p.py * w + p.px) * c + k] += p.delta;
    });
    const values = tf.tidy(() => {
      const { activations } = probeActivations(loaded, tf.tensor4d(data, [chunk.length + 1, h, w, c]), [layer]);
      const a = activations[0] as tf.Tensor4D;
      return a.slice([0, y, x, 0], [chunk.length + 1, 1, 1, a.shape[3]]).reshape([chunk.length + 1, a.shape[3]]).arraySync() as number[][];
    });
    chunk.forEach((p, i) => {
      const moved = values[i + 1].some((v, k) => v !== values[0][k]);
      if (p.inside) inside[p.edge] = (inside[p.edge] ?? false) || moved;
      else {
        const o = (outside[p.edge] ??= { tried: 0, changed: 0 });
        o.tried++;
        if (moved) o.changed++;
      }
    });
  }
  return { outside, inside };
}
