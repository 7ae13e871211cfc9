import { UsageError } from '../errors.js';

/** A padding as given on the command line: pixels on every side, or Keras's two names. */
export type PaddingSpec = number | 'same' | 'valid';

/** How a window of `kernel` pixels slides along one axis, and how many outputs that makes. */
export interface AxisGeometry {
  input: number;
  kernel: number;
  stride: number;
  /** Zeros added before and after; they differ only for 'same' with an even total. */
  padBefore: number;
  padAfter: number;
  output: number;
  /** Whether the last window ends exactly on the padded edge (no rows or columns left over). */
  exact: boolean;
  /** The tutorial's formula with this axis's numbers, e.g. `(64 + 2*1 - 3)/1 + 1 = 64`. */
  formula: string;
}

export function parsePadding(value: string, flag = '--padding'): PaddingSpec {
  const v = value.trim().toLowerCase();
  if (v === 'same' || v === 'valid') return v;
  if (/^\d+$/.test(v)) return Number(v);
  throw new UsageError(`bad ${flag} '${value}': expected a number of pixels (0, 1, 2, ...), 'same' or 'valid'`);
}

const SYMBOLIC = '(I + 2P - K)/S + 1';

/**
 * Output size along one axis: (I + 2P - K)/S + 1, floored as every framework does (the
 * windows that would stick out past the padded edge are dropped). 'same' pads just enough
 * for ceil(I/S) outputs, splitting an odd total with the extra zero after, like TensorFlow.
 * A window that cannot fit at all, or a remainder under `exact`, is the caller's mistake.
 */
export function axisGeometry(axis: string, input: number, kernel: number, stride: number, padding: PaddingSpec, exact = false): AxisGeometry {
  if (stride < 1) throw new UsageError(`bad stride ${stride}: expected an integer >= 1`);
  let padBefore: number;
  let padAfter: number;
  if (padding === 'same') {
    const total = Math.max((Math.ceil(input / stride) - 1) * stride + kernel - input, 0);
    padBefore = Math.floor(total / 2);
    padAfter = total - padBefore;
  } else {
    padBefore = padAfter = padding === 'valid' ? 0 : padding;
  }
  const span = input + padBefore + padAfter - kernel;
  const pad = padBefore === padAfter ? `2*${padBefore}` : `${padBefore}+${padAfter}`;
  const filled = `(${input} + ${pad} - ${kernel})/${stride} + 1`;
  if (span < 0) {
    throw new UsageError(
      `${axis}: kernel ${kernel} is larger than the padded input ${input + padBefore + padAfter}: ${SYMBOLIC} = ${filled} = ${fmt(span / stride + 1)} < 1; use a smaller kernel or more padding`,
    );
  }
  const isExact = span % stride === 0;
  const output = Math.floor(span / stride) + 1;
  if (exact && !isExact) {
    throw new UsageError(
      `${axis}: ${SYMBOLIC} = ${filled} = ${fmt(span / stride + 1)} is not a whole number (--exact); change the stride or padding so that ${stride} divides ${span}`,
    );
  }
  const formula = isExact ? `${filled} = ${output}` : `${filled} = floor(${span}/${stride}) + 1 = ${output} (${span % stride} left over)`;
  return { input, kernel, stride, padBefore, padAfter, output, exact: isExact, formula };
}

export interface Geometry {
  width: AxisGeometry;
  height: AxisGeometry;
}

export function windowGeometry(
  size: { width: number; height: number },
  kernel: { rows: number; cols: number },
  stride: number,
  padding: PaddingSpec,
  exact = false,
): Geometry {
  return {
    width: axisGeometry('width', size.width, kernel.cols, stride, padding, exact),
    height: axisGeometry('height', size.height, kernel.rows, stride, padding, exact),
  };
}

/** The arithmetic as the tutorial writes it, one line per axis (one line when both agree). */
export function describeGeometry(g: Geometry, what = 'kernel'): string[] {
  const w = g.width;
  const h = g.height;
  const pad = (a: AxisGeometry) => (a.padBefore === a.padAfter ? `${a.padBefore}` : `${a.padBefore}+${a.padAfter}`);
  const head = `input ${w.input}x${h.input}, ${what} ${h.kernel}x${w.kernel}, stride ${w.stride}, padding ${pad(w) === pad(h) ? pad(w) : `${pad(h)} (rows) ${pad(w)} (columns)`} -> output ${w.output}x${h.output}`;
  if (w.formula === h.formula) return [head, `output = ${SYMBOLIC} = ${w.formula}`];
  return [head, `width  = ${SYMBOLIC} = ${w.formula}`, `height = ${SYMBOLIC} = ${h.formula}`];
}

export function geometryJson(g: Geometry) {
  const axis = (a: AxisGeometry) => ({ input: a.input, kernel: a.kernel, stride: a.stride, padding: [a.padBefore, a.padAfter], output: a.output, exact: a.exact, formula: `${SYMBOLIC} = ${a.formula}` });
  return { width: axis(g.width), height: axis(g.height) };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
