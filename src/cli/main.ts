import { VERSION } from './version.js';
import { Command, CommanderError, Help } from 'commander';
import { InputsFailed, exitCodeOf } from '../errors.js';

/**
 * The subcommands, one file each. A command's module pulls in TensorFlow.js, its wasm
 * backend or sharp (half a second of imports), so the root program knows each command only by
 * name, usage and description, and imports the one module the command line names. The
 * entries must match the commands their modules build: test/cli-startup.test.ts checks that.
 */
export interface CommandEntry {
  name: string;
  /** Arguments as the root help lists them, e.g. '[options] <image>'. */
  usage: string;
  description: string;
  load: () => Promise<() => Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'layers',
    usage: '[options]',
    description: 'list every layer (graph models: every node that outputs a 4-D feature map): index, name, class or op, output shape, receptive field size and stride, parameters, activation',
    load: async () => (await import('./layers.js')).layersCommand,
  },
  {
    name: 'activations',
    usage: '[options] <image>',
    description: "show a layer's feature maps for an image, one tile per channel, as a PNG grid",
    load: async () => (await import('./activations.js')).activationsCommand,
  },
  {
    name: 'dream',
    usage: '[options]',
    description: 'paint the picture a filter (channel, neuron or class) responds to most, by gradient ascent from noise (Lucid-style)',
    load: async () => (await import('./dream.js')).dreamCommand,
  },
  {
    name: 'index',
    usage: '[options] [photos...]',
    description: "record, for every photo of a folder, each channel's max/mean/min and where: the index `examples` ranks photos from",
    load: async () => (await import('./index-cmd.js')).indexCommand,
  },
  {
    name: 'examples',
    usage: '[options] [photos...]',
    description: "the photos that excite a filter most (or least), each cropped to the unit's receptive field around its strongest position, optionally beside the filter's dream",
    load: async () => (await import('./examples.js')).examplesCommand,
  },
  {
    name: 'report',
    usage: '[options]',
    description: 'write an offline Microscope for a model: a static site with a page per layer and per unit (dreams, dataset examples, histogram, reproducing commands) and image pages',
    load: async () => (await import('./report.js')).reportCommand,
  },
  {
    name: 'train',
    usage: '[options] <dataset>',
    description: 'train a CNN classifier on a folder of images (one subfolder per class, optionally under train/ and val/)',
    load: async () => (await import('./train.js')).trainCommand,
  },
  {
    name: 'cam',
    usage: '[options] [image...]',
    description: 'class activation maps: which parts of a photo made the prediction (Grad-CAM and friends), over the photo',
    load: async () => (await import('./cam.js')).camCommand,
  },
  {
    name: 'saliency',
    usage: '[options] <image...>',
    description: "gradient saliency: each pixel's influence on a class score (vanilla, SmoothGrad, Integrated Gradients, gradient x input, guided backprop)",
    load: async () => (await import('./saliency.js')).saliencyCommand,
  },
  {
    name: 'sanity',
    usage: '[options] <image>',
    description: "Adebayo et al.'s sanity check: re-initialize a copy of the model's weights from the top layer down, and how much each method's map still correlates with the trained model's",
    load: async () => (await import('./sanity.js')).sanityCommand,
  },
  {
    name: 'predict',
    usage: '[options] <image...>',
    description: 'classify images: the top classes with their probabilities, one line per image',
    load: async () => (await import('./predict.js')).predictCommand,
  },
  {
    name: 'channels',
    usage: '[options] <image>',
    description: 'an image as numbers: the original beside its red, green and blue planes, optionally at fewer pixels',
    load: async () => (await import('./channels.js')).channelsCommand,
  },
  {
    name: 'convolve',
    usage: '[options] [image]',
    description: 'slide a kernel over an image (or a typed matrix) and show the response, with the output-size arithmetic',
    load: async () => (await import('./convolve.js')).convolveCommand,
  },
  {
    name: 'pool',
    usage: '[options] [image]',
    description: 'pool an image (or a typed matrix): input and output side by side, with the size arithmetic',
    load: async () => (await import('./pool.js')).poolCommand,
  },
  {
    name: 'kernels',
    usage: '[options]',
    description: "draw a conv layer's learned weights: one tile per filter (RGB for first layers), normalized around zero",
    load: async () => (await import('./kernels.js')).kernelsCommand,
  },
  {
    name: 'plot',
    usage: '[options] <function...>',
    description: 'draw activation functions as a small PNG chart with axes and a legend',
    load: async () => (await import('./plot.js')).plotCommand,
  },
];

/** Commander's own usage errors, folded to one line in cnnviz's error style. */
function oneLine(str: string): string {
  return str.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * ui.ts brings chalk and its colour detection: `--help` and `--version` never print an error,
 * so it is imported only when there is one to print.
 */
async function printError(message: string): Promise<void> {
  const { ui } = await import('./ui.js');
  ui.error(message);
}

const HELP_FLAGS = new Set(['-h', '--help']);

/**
 * The command a command line names, if any: the root takes no option with a value, so it is
 * the first word that isn't a flag (or the word after `help`).
 */
function commandWord(args: string[]): { word?: string; viaHelp: boolean } {
  const words = args.filter((a) => !a.startsWith('-'));
  if (words[0] === 'help') return { word: words[1], viaHelp: true };
  return { word: words[0], viaHelp: false };
}

/**
 * The root program. Only the command `loaded` names is built for real (importing its module is
 * the caller's job); the others are stand-ins that carry their name, usage and description
 * for the root help and for commander's "unknown command" suggestions.
 */
export function buildProgram(loaded?: { name: string; make: () => Command }, errors: string[] = []): Command {
  // Commander reports a usage error synchronously, just before it throws: keep the line for run().
  const OUTPUT = { outputError: (str: string) => errors.push(oneLine(str)) };
  const program = new Command('cnnviz')
    .description('See what a trained convolutional network sees: layers, activations, feature visualization.')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    // The stand-ins have no options or arguments of their own: list every command by its usage.
    .configureHelp({ subcommandTerm: (cmd) => (COMMANDS.some((c) => c.name === cmd.name()) ? `${cmd.name()} ${cmd.usage()}` : new Help().subcommandTerm(cmd)) })
    .configureOutput({
      // An unknown command is answered with the ones there are.
      outputError: (str) => OUTPUT.outputError(/unknown command/.test(str) ? `${str.trim()} (commands: ${program.commands.map((c) => c.name()).join(', ')}; see cnnviz --help)` : str),
    });
  for (const entry of COMMANDS) {
    const cmd = loaded?.name === entry.name ? loaded.make() : new Command(entry.name).description(entry.description).usage(entry.usage);
    program.addCommand(cmd.exitOverride().configureOutput(OUTPUT));
  }
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
  const usageErrors: string[] = [];
  try {
    let args = argv.slice(2);
    const { word, viaHelp } = commandWord(args);
    const entry = COMMANDS.find((c) => c.name === word);
    if (word !== undefined && !entry) {
      // `cnnviz frobnicate --help` and `cnnviz help frobnicate` must fail like `cnnviz frobnicate`, not show
      // the root help with exit 0: a script has to be able to tell that the command is missing.
      args = args.filter((a) => !HELP_FLAGS.has(a));
      if (viaHelp) args.splice(args.indexOf('help'), 1);
    }
    const program = buildProgram(entry && { name: entry.name, make: await entry.load() }, usageErrors);
    await program.parseAsync([...argv.slice(0, 2), ...args]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      for (const line of usageErrors) await printError(line);
      // Help and --version "fail" with exit code 0; everything else commander rejects is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InputsFailed) return err.exitCode; // each failed input already said why
    const message = (err as Error)?.message ?? String(err);
    await printError(message.split('\n')[0]);
    if (verbose && (err as Error)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
    return exitCodeOf(err);
  }
}
