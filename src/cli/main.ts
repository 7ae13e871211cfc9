import { Command, CommanderError } from 'commander';
import { exitCodeOf } from '../errors.js';
import { activationsCommand } from './activations.js';
import { dreamCommand } from './dream.js';
import { layersCommand } from './layers.js';
import { predictCommand } from './predict.js';
import { trainCommand } from './train.js';
import { channelsCommand } from './channels.js';
import { convolveCommand } from './convolve.js';
import { poolCommand } from './pool.js';
import { kernelsCommand } from './kernels.js';
import { InputsFailed } from './many.js';
import { plotCommand } from './plot.js';
import { ui } from './ui.js';

/** Subcommands, one file each; later features add theirs here. */
const COMMANDS: Array<() => Command> = [layersCommand, activationsCommand, dreamCommand, trainCommand, predictCommand, channelsCommand, convolveCommand, poolCommand, kernelsCommand, plotCommand];

const OUTPUT = {
  // Commander's own usage errors, folded to one line in cnnviz's error style.
  outputError: (str: string) => ui.error(str.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim()),
};

export function buildProgram(): Command {
  const program = new Command('cnnviz')
    .description('See what a trained convolutional network sees: layers, activations, feature visualization.')
    .version('0.1.0')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      // An unknown command is answered with the ones there are.
      outputError: (str) => OUTPUT.outputError(/unknown command/.test(str) ? `${str.trim()} (commands: ${program.commands.map((c) => c.name()).join(', ')}; see cnnviz --help)` : str),
    });
  for (const make of COMMANDS) program.addCommand(make().exitOverride().configureOutput(OUTPUT));
  program.addHelpText(
    'after',
    `
Examples:
  $ cnnviz layers                                  # every layer of the bundled model
  $ cnnviz activations examples/cat.jpg --layer 25 # one layer's feature maps as a PNG grid
  $ cnnviz <command> --help                        # options and examples of one command`,
  );
  return program;
}

/** Run the CLI; resolves to the process exit code instead of exiting, so tests can call it. */
export async function run(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; everything else commander rejects is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InputsFailed) return err.exitCode; // each failed input already said why
    const message = (err as Error)?.message ?? String(err);
    ui.error(message.split('\n')[0]);
    if (verbose && (err as Error)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
    return exitCodeOf(err);
  }
}
