import { Command, Option } from 'commander';
import { COLORMAPS } from '../image/colormap.js';
import { resolveIndexList, resolveLayer } from '../model/address.js';
import { filterStats, kernelsFigure, learnedKernels } from '../tutorial/learned.js';
import { addFigureOptions, checkFigureOutput, emitFigure, type FigureOptions } from './figure.js';
import { addModelOptions, choiceOption, defaultLayer, examples, intOption, openModel, safeName, type CommonOptions } from './options.js';

interface KernelsOptions extends FigureOptions, CommonOptions {
  layer?: string;
  filters?: string;
  reduce: 'none' | 'mean';
  scale: 'filter' | 'layer';
  tileSize: number;
  cmap: string;
}

export function kernelsCommand(): Command {
  const cmd = new Command('kernels')
    .description("draw a conv layer's learned weights: one tile per filter (RGB for first layers), normalized around zero")
    .option('-l, --layer <spec>', 'conv layer index or name (default: the first convolution)')
    .option('--filters <list>', "filters to show, e.g. '0-15' or '3,7' (default: all)")
    .addOption(new Option('--reduce <how>', 'none: one small grid per filter (a tile per input channel); mean: average the input channels').default('none').argParser(choiceOption('--reduce', ['none', 'mean'] as const)))
    .addOption(new Option('--scale <mode>', 'filter: each filter stretched to its own largest |weight|; layer: one scale for all').default('filter').argParser(choiceOption('--scale', ['filter', 'layer'] as const)))
    .option('--tile-size <px>', 'enlarge kernels (nearest neighbour) to about this many pixels', intOption('--tile-size', 1, 1024), 48)
    .addOption(new Option('--cmap <name>', `colours for non-RGB tiles: ${COLORMAPS.join('|')}`).default('rdbu').argParser(choiceOption('--cmap', COLORMAPS)));
  addFigureOptions(cmd, 'kernels.<layer>.png');
  addModelOptions(cmd).action(async (opts: KernelsOptions) => {
    checkFigureOutput(opts);
    const loaded = await openModel(opts);
    const layers = loaded.graph.layers;
    const info = layers[resolveLayer(opts.layer ?? defaultLayer(layers), layers)];
    const k = learnedKernels(info, layers, loaded.graphModel?.weights);
    const filters = opts.filters ? resolveIndexList(opts.filters, k.filters, 'filter', `layer ${info.name}`) : undefined;
    const { raster, mode } = kernelsFigure(k, { filters, reduce: opts.reduce, scale: opts.scale, tileSize: opts.tileSize, cmap: opts.cmap });
    const stats = (filters ?? Array.from({ length: k.filters }, (_, i) => i)).map((f) => filterStats(k, f));
    const how = mode === 'rgb' ? 'RGB tiles (gray = 0)' : mode === 'mean' ? 'mean over input channels' : `a grid of ${k.inputs} input channel(s) each`;
    const lines = [
      `layer ${info.index} ${info.name} (${info.className}): ${k.filters} filters of ${k.kh}x${k.kw}x${k.inputs}, weight shape [${k.storedShape.join(', ')}]`,
      `showing ${stats.length} filter(s) as ${how}, scaled per ${opts.scale}; weights from ${Math.min(...stats.map((s) => s.min)).toFixed(3)} to ${Math.max(...stats.map((s) => s.max)).toFixed(3)}`,
    ];
    await emitFigure(raster, opts, `kernels.${safeName(info.name)}.png`, lines, {
      model: loaded.source,
      layer: { index: info.index, name: info.name, className: info.className },
      kernel: { height: k.kh, width: k.kw, inputs: k.inputs, filters: k.filters, storedShape: k.storedShape },
      mode,
      scale: opts.scale,
      filters: stats,
    });
  });
  return examples(cmd, [
    'cnnviz kernels --layer 1 -m ../shared/data/models/mobilenet-v1-0.25-224',
    'cnnviz kernels                                   # first conv of the bundled model',
    'cnnviz kernels --layer base/conv_pw_1 --reduce mean --filters 0-15',
  ]);
}
