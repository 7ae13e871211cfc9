import { Command, Option } from 'commander';
import { FITS, type Fit } from '../image/io.js';
import { classifyImages } from '../train/classify.js';
import { addMaxPixelsOption, addModelOptions, choiceOption, examples, intOption, openModel, type CommonOptions } from './options.js';
import { ui } from './ui.js';

interface PredictOptions extends CommonOptions {
  top: number;
  fit: Fit;
  maxPixels: number;
}

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .description('classify images: the top classes with their probabilities, one line per image')
    .argument('<image...>', "image files (JPEG, PNG, WebP, GIF, TIFF, AVIF), or '-' for one image on stdin")
    .option('-k, --top <n>', 'how many classes to show per image (at most the number of classes)', intOption('--top', 1), 5)
    .addOption(new Option('--fit <mode>', `how the image meets the model's input size: ${FITS.join('|')}`).default('cover').argParser(choiceOption('--fit', FITS)))
    .option('--json', 'print [{image, predictions: [{label, index, probability}]}] on stdout instead of lines', false)
    .action(async (images: string[], opts: PredictOptions) => {
      const loaded = await openModel(opts);
      const line = (r: { image: string; predictions: { label: string; probability: number }[] }) =>
        `${r.image}: ${r.predictions.map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(', ')}\n`;
      const results = await classifyImages(loaded, images, { top: opts.top, fit: opts.fit, maxMegapixels: opts.maxPixels }, (batch) => {
        if (!opts.json) process.stdout.write(batch.map(line).join(''));
      });
      if (opts.json) ui.json(results);
    });
  addMaxPixelsOption(cmd);
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz predict examples/cat.jpg examples/coffee.jpg',
    'cnnviz predict photos/*.jpg --top 1',
    'cnnviz predict photo.jpg -m my-model/ --json',
  ]);
}
