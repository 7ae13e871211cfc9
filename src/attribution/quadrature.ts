/**
 * Gauss-Legendre quadrature on [0, 1]: n nodes and weights that integrate polynomials of
 * degree up to 2n - 1 exactly. Integrated Gradients uses them as Captum does by default
 * ('gausslegendre', numpy's leggauss scaled from [-1, 1]); at 64 steps they close the
 * completeness gap several times better than a left Riemann sum.
 * Nodes by Newton's method on the Legendre polynomial P_n from Chebyshev starting points.
 */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`gaussLegendre: n must be a positive integer, got ${n}`);
  const nodes: number[] = new Array(n);
  const weights: number[] = new Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_n(x) and P_n'(x) by the three-term recurrence.
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pn = n === 1 ? x : p1;
      const pPrev = n === 1 ? 1 : p0;
      dp = (n * (x * pn - pPrev)) / (x * x - 1);
      const step = pn / dp;
      x -= step;
      if (Math.abs(step) < 1e-15) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    // Symmetric pair on [-1, 1], mapped to [0, 1] (weights halved).
    nodes[i] = (1 - x) / 2;
    nodes[n - 1 - i] = (1 + x) / 2;
    weights[i] = w / 2;
    weights[n - 1 - i] = w / 2;
  }
  return { nodes, weights };
}

export const QUADRATURES = ['gauss-legendre', 'trapezoid', 'midpoint', 'left'] as const;
export type Quadrature = (typeof QUADRATURES)[number];

/** n nodes and weights on [0, 1] of a rule: Gauss-Legendre, the trapezoid rule (endpoints included), midpoints, or a left Riemann sum. */
export function quadrature(rule: Quadrature, n: number): { nodes: number[]; weights: number[] } {
  if (rule === 'gauss-legendre') return gaussLegendre(n);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`quadrature: n must be a positive integer, got ${n}`);
  if (rule === 'trapezoid') {
    if (n === 1) return { nodes: [0.5], weights: [1] };
    const h = 1 / (n - 1);
    return { nodes: Array.from({ length: n }, (_, i) => i * h), weights: Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? h / 2 : h)) };
  }
  const offset = rule === 'midpoint' ? 0.5 : 0;
  return { nodes: Array.from({ length: n }, (_, i) => (i + offset) / n), weights: new Array(n).fill(1 / n) };
}
