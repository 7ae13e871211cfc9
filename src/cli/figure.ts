import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { checkOutputWritable, encodePng, writeOutput } from '../image/io.js';
import { type Raster } from '../image/raster.js';
import { checkStdout, intOption } from './options.js';
import { ui } from './ui.js';

/** Options every tutorial command shares: where the picture goes and whether to print JSON. */
export interface FigureOptions {
  output?: string;
  json?: boolean;
}

export function addFigureOptions(cmd: Command, defaultName: string): Command {
  return cmd
    .option('-o, --output <file>', `PNG file, or '-' for stdout (default: ${defaultName})`)
    .option('--json', 'print the numbers as JSON on stdout instead of text on stderr', false);
}

/** --max-side for commands that read an image: tutorial pictures stay small and fast. */
export function addMaxSideOption(cmd: Command): Command {
  return cmd.option('--max-side <px>', "shrink the image so its longer side is at most this (0 = keep its size)", intOption('--max-side', 0, 8192), 256);
}

/** Checked before any work, so a conflict or an unwritable path costs nothing. */
export function checkFigureOutput(opts: FigureOptions): void {
  checkStdout(opts);
  // Without -o the picture goes into the current folder, under a name known only later.
  checkOutputWritable(opts.output ?? '.', opts.output === undefined ? 'folder' : 'file');
}

/**
 * Write the picture (atomically, or to stdout), then report: the text lines on stderr, or
 * the same numbers as JSON on stdout with the output path added.
 */
export async function emitFigure(raster: Raster, opts: FigureOptions, fallback: string, lines: string[], json: Record<string, unknown>): Promise<void> {
  const dest = opts.output ?? fallback;
  await writeOutput(dest, await encodePng(raster));
  if (opts.json) {
    ui.json({ ...json, png: { path: dest, width: raster.width, height: raster.height } });
    return;
  }
  for (const line of lines) ui.info(line);
  if (dest !== '-') ui.info(`wrote ${dest} (${raster.width}x${raster.height})`);
}

/** A comma list of integers, e.g. --resolution 8,16,32,64. */
export function intListOption(flag: string, min: number, max: number) {
  const one = intOption(flag, min, max);
  return (value: string): number[] => value.split(',').map((v) => one(v.trim()));
}

/** Two numbers `lo,hi`, e.g. --x-range -6,6. */
export function rangeOption(flag: string) {
  return (value: string): [number, number] => {
    const parts = value.split(',').map((v) => Number(v.trim()));
    if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n)) || parts[0] >= parts[1]) {
      throw new UsageError(`bad ${flag} '${value}': expected two numbers lo,hi with lo < hi, e.g. -6,6`);
    }
    return parts as [number, number];
  };
}
