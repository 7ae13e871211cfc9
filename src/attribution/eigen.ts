/**
 * The first principal component of a layer's activations (Eigen-CAM, Muhammad & Yeasin 2020):
 * rows are positions, columns channels; the positions are projected on the leading right
 * singular vector of the centred matrix, found by power iteration on its c x c covariance.
 * The sign of a singular vector is arbitrary: it is chosen so that the projection correlates
 * positively with the channels' sum (the map lights up where the layer is active).
 */
export function firstComponentProjection(acts: Float32Array, positions: number, channels: number, iterations = 100): Float32Array {
  const mean = new Float64Array(channels);
  for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) mean[c] += acts[p * channels + c] / positions;
  const centred = new Float64Array(positions * channels);
  for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) centred[p * channels + c] = acts[p * channels + c] - mean[c];
  // v <- X^T X v, without forming X^T X (positions is small for a CAM layer, channels up to thousands).
  let v = new Float64Array(channels).fill(1 / Math.sqrt(channels));
  const xv = new Float64Array(positions);
  for (let it = 0; it < iterations; it++) {
    for (let p = 0; p < positions; p++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += centred[p * channels + c] * v[c];
      xv[p] = s;
    }
    const next = new Float64Array(channels);
    for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) next[c] += centred[p * channels + c] * xv[p];
    const norm = Math.hypot(...next);
    if (norm === 0) break;
    let change = 0;
    for (let c = 0; c < channels; c++) {
      const n = next[c] / norm;
      change += Math.abs(n - v[c]);
      v[c] = n;
    }
    v = v.slice();
    if (change < 1e-10) break;
  }
  const out = new Float32Array(positions);
  let corr = 0;
  for (let p = 0; p < positions; p++) {
    let s = 0;
    let total = 0;
    for (let c = 0; c < channels; c++) {
      s += centred[p * channels + c] * v[c];
      total += acts[p * channels + c];
    }
    out[p] = s;
    corr += s * total;
  }
  if (corr < 0) for (let p = 0; p < positions; p++) out[p] = -out[p];
  return out;
}
