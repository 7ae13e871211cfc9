import { Command, Option } from 'commander';
import { ACTIVATION_NAMES } from '../tutorial/activation.js';
import { plotActivations, TEXT_MODES, type TextMode } from '../tutorial/plot.js';
import { addFigureOptions, checkFigureOutput, emitFigure, rangeOption, type FigureOptions } from './figure.js';
import { choiceOption, examples, intOption } from './options.js';

interface PlotOptions extends FigureOptions {
  xRange: [number, number];
  width: number;
  height: number;
  text: TextMode;
}

export function plotCommand(): Command {
  const cmd = new Command('plot')
    .description('draw activation functions as a small PNG chart with axes and a legend')
    .argument('<function...>', `one or more of ${ACTIVATION_NAMES.join(', ')}`)
    .option('--x-range <lo,hi>', 'inputs shown along the x axis', rangeOption('--x-range'), [-6, 6])
    .option('--width <px>', 'chart width', intOption('--width', 100, 4096), 480)
    .option('--height <px>', 'chart height', intOption('--height', 100, 4096), 320)
    .addOption(new Option('--text <mode>', "labels: svg (system fonts via sharp), bitmap (cnnviz's own font), auto (svg if a font exists)").default('auto').argParser(choiceOption('--text', TEXT_MODES)));
  addFigureOptions(cmd, 'plot-<functions>.png').action(async (names: string[], opts: PlotOptions) => {
    checkFigureOutput(opts);
    const plot = await plotActivations(names, { xRange: opts.xRange, width: opts.width, height: opts.height, text: opts.text });
    const lines = plot.functions.map((f) => `${f.name}(x) = ${f.formula}:  ${f.samples.map((s) => `f(${s.x})=${+s.y.toFixed(3)}`).join('  ')}`);
    await emitFigure(plot.raster, opts, `plot-${plot.functions.map((f) => f.name).join('-')}.png`, lines, {
      functions: plot.functions,
      xRange: plot.xRange,
      yRange: plot.yRange.map((v) => +v.toFixed(4)),
      text: plot.text,
    });
  });
  return examples(cmd, ['cnnviz plot relu', 'cnnviz plot relu sigmoid tanh -o activations.png', 'cnnviz plot leaky-relu relu6 --x-range -8,8']);
}
