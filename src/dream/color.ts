/**
 * Lucid's colour decorrelation: the square root of ImageNet's colour covariance (from its
 * SVD), normalised by its largest column norm. Optimizing in these decorrelated axes keeps
 * dreams from drifting into saturated single-channel noise.
 */
const SVD_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

const maxColumnNorm = Math.max(...[0, 1, 2].map((c) => Math.hypot(SVD_SQRT[0][c], SVD_SQRT[1][c], SVD_SQRT[2][c])));

/** The matrix M with rgb = t · Mᵀ, row-major 3x3 (already normalised). */
export const COLOR_CORRELATION: number[][] = SVD_SQRT.map((row) => row.map((v) => v / maxColumnNorm));

/** Mᵀ, the right-hand factor of `t_flat @ Mᵀ`, flattened row-major for tf.tensor2d. */
export function decorrelationMatrix(): Float32Array {
  const m = COLOR_CORRELATION;
  return Float32Array.from([0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => m[j][i])));
}

