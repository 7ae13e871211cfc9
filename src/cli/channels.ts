import { Command } from 'commander';
import { readImage } from '../image/io.js';
import { channelsFigure } from '../tutorial/channels.js';
import { inputStem } from '../tutorial/input.js';
import { memoryGuards } from '../tutorial/memory.js';
import { addFigureOptions, addMaxSideOption, checkFigureOutput, emitFigure, intListOption, type FigureOptions } from './figure.js';
import { addMaxPixelsOption, examples } from './options.js';

interface ChannelsOptions extends FigureOptions {
  gray: boolean;
  resolution?: number[];
  maxSide: number;
  maxPixels: number;
}

export function channelsCommand(): Command {
  const cmd = new Command('channels')
    .description('an image as numbers: the original beside its red, green and blue planes, optionally at fewer pixels')
    .argument('<image>', "image file (JPEG, PNG, WebP, GIF (first frame only), TIFF, AVIF), or '-' for stdin")
    .option('--gray', 'draw each plane in gray instead of tinted with its colour', false)
    .option('--resolution <list>', 'also show the image with only this many pixels along its longer side, e.g. 8,16,32,64 (default: none)', intListOption('--resolution', 1, 8192));
  addMaxSideOption(cmd);
  addMaxPixelsOption(cmd);
  addFigureOptions(cmd, '<image>.channels.png').action(async (image: string, opts: ChannelsOptions) => {
    checkFigureOutput(opts);
    const beforeDecode = memoryGuards.channels({ resolutions: opts.resolution?.length ?? 0 });
    const img = await readImage(image, { channels: 3, maxSide: opts.maxSide || undefined, maxMegapixels: opts.maxPixels, beforeDecode });
    const fig = await channelsFigure(img, { gray: opts.gray, resolutions: opts.resolution });
    const n = img.width * img.height;
    const lines = [
      `${image}: ${img.width}x${img.height} = ${n} pixels, 3 channels = ${3 * n} numbers from 0 to 255`,
      ...fig.channels.map((c) => `  ${c.name.padEnd(5)} mean ${c.mean.toFixed(1).padStart(5)}  min ${String(c.min).padStart(3)}  max ${String(c.max).padStart(3)}`),
      ...fig.resolutions.map((r) => `  at ${r.pixels} px: ${r.width}x${r.height} = ${r.width * r.height} pixels`),
    ];
    await emitFigure(fig.raster, opts, `${inputStem(image)}.channels.png`, lines, { image, width: img.width, height: img.height, channels: fig.channels, resolutions: fig.resolutions });
  });
  return examples(cmd, ['cnnviz channels examples/cat.jpg', 'cnnviz channels examples/cat.jpg --gray -o planes.png', 'cnnviz channels examples/cat.jpg --resolution 8,16,32,64']);
}
