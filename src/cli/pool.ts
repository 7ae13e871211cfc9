import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { autoZoom, poolFigure } from '../tutorial/figures.js';
import { describeGeometry, geometryJson } from '../tutorial/geometry.js';
import { loadTutorialInput } from '../tutorial/input.js';
import { memoryGuards } from '../tutorial/memory.js';
import { formatMatrix, planeRows } from '../tutorial/plane.js';
import { pool, POOL_MODES, type PoolMode } from '../tutorial/pool.js';
import { addFigureOptions, addMaxSideOption, checkFigureOutput, emitFigure, type FigureOptions } from './figure.js';
import { addBackendOptions, addMaxPixelsOption, choiceOption, examples, intOption, startBackend, type CommonOptions } from './options.js';

interface PoolOptions extends FigureOptions, CommonOptions {
  size: number;
  stride?: number;
  mode: PoolMode;
  gray: boolean;
  exact: boolean;
  matrix?: string;
  maxSide: number;
  maxPixels: number;
  zoom?: number;
}

const PRINT_SIDE = 12;

export function poolCommand(): Command {
  const cmd = new Command('pool')
    .description('pool an image (or a typed matrix): input and output side by side, with the size arithmetic')
    .argument('[image]', "image file, or '-' for stdin (omit with --matrix)")
    .option('--size <k>', 'window side K', intOption('--size', 1, 1024), 2)
    .option('-s, --stride <n>', 'pixels the window moves per step (default: the window size)', intOption('--stride', 1, 1024))
    .addOption(new Option('--mode <m>', `max keeps the strongest value in each window, avg their mean: ${POOL_MODES.join('|')}`).default('max').argParser(choiceOption('--mode', POOL_MODES)))
    .option('--gray', 'pool the grayscale image instead of each colour plane', false)
    .option('--exact', 'refuse a stride that leaves rows or columns uncovered instead of dropping them', false)
    .option('--matrix <rows>', "pool typed numbers instead of an image, e.g. '1,1,2,4;5,6,7,8;3,2,1,0;1,2,3,4' (default: none)")
    .option('--zoom <n>', 'enlarge the picture n times (default: 1, or enough for tiny inputs to reach 64 px)', intOption('--zoom', 1, 64));
  addMaxSideOption(cmd);
  addMaxPixelsOption(cmd);
  addFigureOptions(cmd, '<image>.pool-<mode><size>.png');
  addBackendOptions(cmd).action(async (image: string | undefined, opts: PoolOptions) => {
    checkFigureOutput(opts);
    if ((image === undefined) === (opts.matrix === undefined)) throw new UsageError('give an image or --matrix (exactly one of them)');
    await startBackend(opts);
    const beforeDecode = memoryGuards.pool({ channels: opts.gray ? 1 : 3, zoom: opts.zoom });
    const input = await loadTutorialInput(image, { matrix: opts.matrix, gray: opts.gray, maxSide: opts.maxSide, maxMegapixels: opts.maxPixels, beforeDecode });
    const stride = opts.stride ?? opts.size;
    const { output, geometry } = pool(input.plane, { size: opts.size, stride, mode: opts.mode, exact: opts.exact });
    const raster = poolFigure(input.plane, output, stride, input.range, opts.zoom ?? autoZoom(input.plane));

    const lines = [`${opts.mode} pooling: ${describeGeometry(geometry, 'window')[0]}`, ...describeGeometry(geometry).slice(1)];
    const before = formatMatrix(input.plane, PRINT_SIDE);
    const after = formatMatrix(output, PRINT_SIDE);
    if (before && after) lines.push('input:', ...before.map((l) => `  ${l}`), 'output:', ...after.map((l) => `  ${l}`));
    await emitFigure(raster, opts, `${input.stem}.pool-${opts.mode}${opts.size}.png`, lines, {
      image: image ?? null,
      mode: opts.mode,
      size: opts.size,
      stride,
      geometry: geometryJson(geometry),
      input: { width: input.plane.width, height: input.plane.height, channels: input.plane.channels, values: before ? planeRows(input.plane) : undefined },
      output: { width: output.width, height: output.height, channels: output.channels, values: after ? planeRows(output) : undefined },
    });
  });
  return examples(cmd, [
    'cnnviz pool examples/cat.jpg --size 2 --stride 2',
    "cnnviz pool --matrix '1,1,2,4;5,6,7,8;3,2,1,0;1,2,3,4'",
    'cnnviz pool examples/cat.jpg --size 3 --stride 2 --mode avg -o pooled.png',
  ]);
}
