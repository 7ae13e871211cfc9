import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { FITS, type Fit } from '../image/io.js';
import { refuseTerminalStdin } from '../image/stdin.js';
import { type Prediction } from '../model/probe.js';
import { classifyEach } from '../train/classify.js';
import { exitOnFailures, reportEach } from './many.js';
import { addLabelsOption, addMaxPixelsOption, addModelOptions, choiceOption, examples, IMAGE_FORMATS, intOption, openModelWithLabels, type CommonOptions, type LabelsOptions } from './options.js';

interface PredictOptions extends CommonOptions, LabelsOptions {
  top: number;
  fit: Fit;
  maxPixels: number;
}

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .description('classify images: the top classes with their probabilities, one line per image')
    .argument('<image...>', `image files (${IMAGE_FORMATS}), or '-' for one image on stdin`)
    .option('-k, --top <n>', 'how many classes to show per image; a model with fewer classes shows them all (--top 5 on a 2-class model shows 2)', intOption('--top', 1), 5)
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--json', 'print JSON Lines on stdout, one object per image: {image, predictions: [{label, index, probability}]}, or {image, error} for one that could not be read', false)
    .action(async (images: string[], opts: PredictOptions) => {
      if (images.filter((i) => i === '-').length > 1) throw new UsageError("'-' given more than once: standard input holds one image");
      if (images.includes('-')) refuseTerminalStdin();
      const loaded = await openModelWithLabels(opts);
      const percentages = (predictions: Prediction[]) => predictions.map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(', ');
      await exitOnFailures(
        reportEach(classifyEach(loaded, images, { top: opts.top, fit: opts.fit, maxMegapixels: opts.maxPixels }), {
          key: 'image',
          asJson: !!opts.json,
          line: (predictions, image) => `${image}: ${percentages(predictions)}`,
          json: (predictions) => ({ predictions }),
        }),
      );
    });
  addLabelsOption(cmd);
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz predict examples/cat.jpg examples/coffee.jpg',
    'cnnviz predict photos/*.jpg --top 1',
    'cnnviz predict photo.jpg -m my-model/ --json',
    "cnnviz predict examples/cat.jpg --labels <(printf 'Katze\\nHund\\n')",
  ]);
}
