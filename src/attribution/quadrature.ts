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

export const QUADRATURES = ['adaptive', 'gauss-legendre', 'trapezoid', 'midpoint', 'left'] as const;
export type Quadrature = (typeof QUADRATURES)[number];
/** The rules whose nodes are fixed in advance (all but 'adaptive', which places them from what it evaluates). */
export type FixedQuadrature = Exclude<Quadrature, 'adaptive'>;

/** n nodes and weights on [0, 1] of a rule: Gauss-Legendre, the trapezoid rule (endpoints included), midpoints, or a left Riemann sum. */
export function quadrature(rule: FixedQuadrature, n: number): { nodes: number[]; weights: number[] } {
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

/** The integrand and its primitive at some points of [0, 1], as one evaluation gives them. */
export interface PathSamples {
  /** h(α) at each point: the integrand (IG: the gradient · (x − x′) summed over pixels). */
  values: number[];
  /** F(α) at each point, a primitive of h (IG: the class score): F(b) − F(a) is the exact integral over [a, b]. */
  primitive: number[];
}

export interface AdaptiveOptions {
  /** Equal panels of the first pass (8). */
  panels?: number;
  /** Panels bisected per later pass, at most (8): one evaluation each, so one batch per pass. */
  perPass?: number;
}

/**
 * Adaptive composite trapezoid rule on [0, 1] with n evaluations, for integrands whose
 * primitive is known at every evaluated point (Integrated Gradients: the score comes with its
 * gradient). A first pass of equal panels, then passes that bisect the panels whose trapezoid
 * estimate is furthest from the exact F(b) − F(a), until n points are used. Bisection
 * reuses both ends, so no evaluation is wasted and none is a forward-only extra. A
 * piecewise constant integrand (a ReLU6 network along a straight path) is integrated
 * exactly on every panel without a jump or with its jump in the middle, so the nodes
 * gather where the integrand jumps, which no fixed rule can do.
 * `evaluate(points)` is called once per pass with that pass's new points; returns the nodes
 * (sorted) and their weights, which sum to 1. Stops before n points only when every panel
 * is exact.
 */
export function adaptiveTrapezoid(n: number, evaluate: (points: number[]) => PathSamples, opts: AdaptiveOptions = {}): { nodes: number[]; weights: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`adaptiveTrapezoid: n must be a positive integer, got ${n}`);
  if (n === 1) {
    evaluate([0.5]);
    return { nodes: [0.5], weights: [1] };
  }
  const first = Math.max(1, Math.min(opts.panels ?? 8, n - 1));
  const perPass = Math.max(1, opts.perPass ?? 8);
  const h = new Map<number, number>();
  const F = new Map<number, number>();
  const sample = (points: number[]) => {
    const s = evaluate(points);
    points.forEach((p, i) => {
      h.set(p, s.values[i]);
      F.set(p, s.primitive[i]);
    });
  };
  const panelError = (a: number, b: number) => Math.abs(((b - a) * (h.get(a)! + h.get(b)!)) / 2 - (F.get(b)! - F.get(a)!));
  sample(Array.from({ length: first + 1 }, (_, i) => i / first));
  let panels = Array.from({ length: first }, (_, i) => ({ a: i / first, b: (i + 1) / first, error: 0 }));
  panels.forEach((p) => (p.error = panelError(p.a, p.b)));
  // Panels this close to exact are left alone: bisecting one whose jump sits at its middle would put a node on the jump.
  const scale = Math.max(...[...h.values(), ...F.values()].map(Math.abs));
  const tolerance = 1e-12 * scale;
  while (h.size < n) {
    const k = Math.min(perPass, n - h.size);
    const worst = panels.filter((p) => p.error > tolerance).sort((p, q) => q.error - p.error).slice(0, k);
    if (!worst.length) break;
    sample(worst.map((p) => (p.a + p.b) / 2));
    panels = panels.flatMap((p) => {
      if (!worst.includes(p)) return [p];
      const mid = (p.a + p.b) / 2;
      return [{ a: p.a, b: mid, error: panelError(p.a, mid) }, { a: mid, b: p.b, error: panelError(mid, p.b) }];
    });
  }
  const weights = new Map<number, number>();
  for (const p of panels) {
    weights.set(p.a, (weights.get(p.a) ?? 0) + (p.b - p.a) / 2);
    weights.set(p.b, (weights.get(p.b) ?? 0) + (p.b - p.a) / 2);
  }
  const nodes = [...weights.keys()].sort((a, b) => a - b);
  return { nodes, weights: nodes.map((x) => weights.get(x)!) };
}
