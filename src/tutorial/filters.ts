import { UsageError } from '../errors.js';
import { parseMatrix, type Matrix } from './plane.js';

/** A hand-made filter: what the tutorial slides over the image before any learning. */
export interface Kernel extends Matrix {
  name: string;
}

/** The classic 3x3 filters. Written as CNNs apply them (cross-correlation, not flipped). */
const PRESETS: Record<string, string> = {
  // Bright-right minus bright-left: vertical edges, positive where brightness rises to the right.
  'sobel-x': '-1,0,1; -2,0,2; -1,0,1',
  'sobel-y': '-1,-2,-1; 0,0,0; 1,2,1',
  'prewitt-x': '-1,0,1; -1,0,1; -1,0,1',
  'prewitt-y': '-1,-1,-1; 0,0,0; 1,1,1',
  laplacian: '0,1,0; 1,-4,1; 0,1,0',
  sharpen: '0,-1,0; -1,5,-1; 0,-1,0',
  box: '1/9,1/9,1/9; 1/9,1/9,1/9; 1/9,1/9,1/9',
  gaussian: '1/16,2/16,1/16; 2/16,4/16,2/16; 1/16,2/16,1/16',
  emboss: '-2,-1,0; -1,1,1; 0,1,2',
  outline: '-1,-1,-1; -1,8,-1; -1,-1,-1',
};
export const KERNEL_NAMES = Object.keys(PRESETS);

/** Named groups for --kernels: `edges` is the tutorial's four-filter feature-extraction figure. */
export const KERNEL_SETS: Record<string, string[]> = {
  edges: ['sobel-x', 'sobel-y', 'outline', 'emboss'],
  all: KERNEL_NAMES,
};

/** A preset name or a matrix like `"1,0,-1;2,0,-2;1,0,-1"` (any size, odd or even). */
export function parseKernel(spec: string, flag = '--kernel'): Kernel {
  const name = spec.trim().toLowerCase();
  if (name in PRESETS) return { name, ...parseMatrix(PRESETS[name], flag) };
  if (/^[a-z][a-z-]*$/.test(name)) {
    throw new UsageError(`unknown ${flag} '${spec}': choose one of ${KERNEL_NAMES.join(', ')}, or write a matrix like '1,0,-1;2,0,-2;1,0,-1'`);
  }
  return { name: 'custom', ...parseMatrix(spec, flag) };
}

/** A set name (`edges`, `all`) or a comma list of preset names. */
export function parseKernelList(spec: string, flag = '--kernels'): Kernel[] {
  const key = spec.trim().toLowerCase();
  const names = KERNEL_SETS[key] ?? key.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError(`empty ${flag}: give ${Object.keys(KERNEL_SETS).join(' or ')}, or preset names separated by commas`);
  return names.map((n) => {
    if (!(n in PRESETS)) {
      throw new UsageError(`unknown kernel '${n}' in ${flag}: choose ${Object.keys(KERNEL_SETS).join(' or ')}, or names from ${KERNEL_NAMES.join(', ')}`);
    }
    return parseKernel(n, flag);
  });
}
