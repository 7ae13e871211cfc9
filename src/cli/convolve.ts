import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { COLORMAPS } from '../image/colormap.js';
import { ACTIVATION_NAMES } from '../tutorial/activation.js';
import { convolve } from '../tutorial/convolve.js';
import { autoZoom, convolutionFigure } from '../tutorial/figures.js';
import { KERNEL_NAMES, KERNEL_SETS, parseKernel, parseKernelList } from '../tutorial/filters.js';
import { describeGeometry, geometryJson, parsePadding, type PaddingSpec } from '../tutorial/geometry.js';
import { loadTutorialInput } from '../tutorial/input.js';
import { memoryGuards } from '../tutorial/memory.js';
import { formatMatrix, planeFromMatrix, planeRows, planeStats } from '../tutorial/plane.js';
import { addFigureOptions, addMaxSideOption, checkFigureOutput, emitFigure, type FigureOptions } from './figure.js';
import { addBackendOptions, addMaxPixelsOption, choiceOption, examples, intOption, startBackend, type CommonOptions } from './options.js';

interface ConvolveOptions extends FigureOptions, CommonOptions {
  kernel?: string;
  kernels?: string;
  stride: number;
  padding: PaddingSpec;
  activation: string;
  rgb: boolean;
  exact: boolean;
  cmap: string;
  matrix?: string;
  maxSide: number;
  maxPixels: number;
  zoom?: number;
}

/** Outputs up to this side are also printed as numbers. */
const PRINT_SIDE = 12;

export function convolveCommand(): Command {
  const cmd = new Command('convolve')
    .description('slide a kernel over an image (or a typed matrix) and show the response, with the output-size arithmetic')
    .argument('[image]', "image file, or '-' for stdin (omit with --matrix)")
    .option('-k, --kernel <name|matrix>', `a preset (${KERNEL_NAMES.join(', ')}) or rows like '1,0,-1;2,0,-2;1,0,-1' (default: sobel-x)`)
    .option('--kernels <set|list>', `several presets as a labelled grid: ${Object.keys(KERNEL_SETS).join(', ')}, or names joined by commas (default: none)`)
    .option('-s, --stride <n>', 'pixels the kernel moves per step', intOption('--stride', 1, 1024), 1)
    .option('-p, --padding <p>', "zeros added on each side: a number, 'same' (output = input/stride) or 'valid' (= 0)", (v: string) => parsePadding(v), 0)
    .addOption(new Option('-a, --activation <fn>', `applied to the response: none|${ACTIVATION_NAMES.join('|')}`).default('none').argParser(choiceOption('--activation', ['none', ...ACTIVATION_NAMES])))
    .option('--rgb', 'convolve the red, green and blue planes separately instead of the grayscale image', false)
    .option('--exact', 'refuse a stride that leaves rows or columns uncovered instead of dropping them', false)
    .addOption(new Option('--cmap <name>', `colours: auto (rdbu when negative values exist, else gray)|${COLORMAPS.join('|')}`).default('auto').argParser(choiceOption('--cmap', ['auto', ...COLORMAPS])))
    .option('--matrix <rows>', "convolve typed numbers instead of an image, e.g. '0,0,1,1;0,0,1,1;0,0,1,1' (default: none)")
    .option('--zoom <n>', 'enlarge the picture n times, nearest neighbour (default: 1, or enough for tiny outputs to reach 64 px)', intOption('--zoom', 1, 64));
  addMaxSideOption(cmd);
  addMaxPixelsOption(cmd);
  addFigureOptions(cmd, '<image>.<kernel>.png');
  addBackendOptions(cmd).action(async (image: string | undefined, opts: ConvolveOptions) => {
    checkFigureOutput(opts);
    if (opts.kernel && opts.kernels) throw new UsageError('--kernel and --kernels both choose kernels: give one of them');
    if ((image === undefined) === (opts.matrix === undefined)) throw new UsageError('give an image or --matrix (exactly one of them)');
    const kernels = opts.kernels ? parseKernelList(opts.kernels) : [parseKernel(opts.kernel ?? 'sobel-x')];
    await startBackend(opts);
    const beforeDecode = memoryGuards.convolve({ channels: opts.rgb ? 3 : 1, kernels: kernels.length, zoom: opts.zoom });
    const input = await loadTutorialInput(image, { matrix: opts.matrix, gray: !opts.rgb, maxSide: opts.maxSide, maxMegapixels: opts.maxPixels, beforeDecode });

    const results = kernels.map((kernel) => ({ kernel, ...convolve(input.plane, kernel, opts) }));
    const { geometry, output } = results[0];
    const raster = convolutionFigure(results, opts.cmap, opts.zoom ?? autoZoom(output));

    const lines = [...describeGeometry(geometry)];
    for (const { kernel, output: out } of results) {
      const s = planeStats(out);
      lines.push(`kernel ${kernel.name}:`, ...(formatMatrix(planeFromMatrix(kernel)) ?? []).map((l) => `  ${l}`));
      lines.push(`  response${opts.activation === 'none' ? '' : ` after ${opts.activation}`}: min ${s.min.toFixed(3)}, max ${s.max.toFixed(3)}, mean ${s.mean.toFixed(3)}`);
      for (const l of formatMatrix(out, PRINT_SIDE) ?? []) lines.push(`  ${l}`);
    }
    const name = opts.kernels ? opts.kernels.replace(/[^A-Za-z0-9-]+/g, '_') : kernels[0].name;
    await emitFigure(raster, opts, `${input.stem}.${name}.png`, lines, {
      image: image ?? null,
      input: { width: input.plane.width, height: input.plane.height, channels: input.plane.channels },
      stride: opts.stride,
      padding: opts.padding,
      activation: opts.activation,
      geometry: geometryJson(geometry),
      output: { width: output.width, height: output.height, channels: output.channels },
      kernels: results.map(({ kernel, output: out }) => ({
        name: kernel.name,
        matrix: planeRows(planeFromMatrix(kernel)),
        ...planeStats(out),
        values: out.width <= PRINT_SIDE && out.height <= PRINT_SIDE ? planeRows(out) : undefined,
      })),
    });
  });
  return examples(cmd, [
    'cnnviz convolve examples/cat.jpg --kernel sobel-x',
    'cnnviz convolve examples/cat.jpg --kernels edges -o edges.png',
    "cnnviz convolve examples/cat.jpg --kernel '1,0,-1;1,0,-1;1,0,-1' --stride 2 --padding 1 --activation relu",
    "cnnviz convolve --matrix '0,0,9,9;0,0,9,9;0,0,9,9;0,0,9,9' --kernel sobel-x --padding 1",
  ]);
}
