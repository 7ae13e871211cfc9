import { Command } from 'commander';
import { addModelOptions, examples, openModel, type CommonOptions } from './options.js';
import { ui } from './ui.js';
import { describeLayers, type ReceptiveFieldSummary } from '../model/summary.js';

export function layersCommand(): Command {
  const cmd = new Command('layers')
    .description('list every layer (graph models: every node that outputs a 4-D feature map): index, name, class or op, output shape, receptive field size and stride, parameters, activation')
    .option('--json', 'print the layers as a JSON array on stdout', false)
    .action(async (opts: CommonOptions) => {
      const loaded = await openModel(opts);
      const summary = describeLayers(loaded);
      if (opts.json) {
        ui.json(summary.layers);
        return;
      }
      // Graph models have no receptive fields: their table keeps its old columns.
      const withRf = summary.layers.some((l) => l.receptiveField);
      const rows = summary.layers.map((l) => [
        String(l.index),
        l.name,
        l.className + (l.isConv ? ' *' : ''),
        shapeText(l.outputShape),
        ...(withRf ? rfText(l.receptiveField) : []),
        l.params.toLocaleString('en-US'),
        l.activation ?? '',
      ]);
      const graph = loaded.kind === 'graph';
      const head = ['#', 'name', graph ? 'op' : 'class', 'output shape', ...(withRf ? ['rf', 'stride'] : []), 'params', 'activation'];
      const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
      const right = new Set([0, head.indexOf('rf'), head.indexOf('stride'), head.indexOf('params')]);
      const line = (r: string[]) => r.map((v, c) => (right.has(c) ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd();
      const out = [
        `${ui.bold(summary.name)}: input ${shapeText(summary.inputShape)}, range [${summary.inputRange.join(', ')}] (${summary.inputRangeSource})`,
        ui.bold(line(head)),
        ...rows.map(line),
        `${summary.layers.length} ${graph ? 'graph nodes with 4-D outputs' : 'layers'}, ${summary.totalParams.toLocaleString('en-US')} parameters; * = convolution` +
          (withRf ? '; rf = receptive field in input pixels, stride = input pixels between neighbouring units, all = the whole input' : ''),
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
  addModelOptions(cmd);
  return examples(cmd, [
    'cnnviz layers',
    "cnnviz layers -m mobilenet/ --json | jq -r '.[].name'   # a folder holding model.json",
    'cnnviz layers -m my_model.keras        # Keras 3; Keras 2 .h5 files load too',
  ]);
}

/** "3" for a square field, "3x5" otherwise; a global layer sees "all". */
function rfText(rf: ReceptiveFieldSummary | undefined): [string, string] {
  if (!rf) return ['?', '?'];
  if (rf.global) return ['all', ''];
  const pair = ([a, b]: [number, number]) => (a === b ? String(a) : `${a}x${b}`);
  return [pair(rf.size), pair(rf.stride)];
}

function shapeText(shape: (number | null)[]): string {
  return `[${shape.map((d) => (d == null ? 'null' : d)).join(', ')}]`;
}
