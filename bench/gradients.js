// Gradient-ascent step cost (the inner loop of feature visualisation) per backend:
// the VGG-style reference net at 128 and 224 px and the real MobileNet v1 0.25.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../dist/backend/select.js';
import { inputGradientsOnly } from '../dist/backend/gradients.js';
import { timeBest, loadLayersModelFromDir, fmt } from './_util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOBILENET = path.resolve(ROOT, '../shared/data/models/mobilenet-v1-0.25-224');

/** conv3x3/2 → 32, conv 64, maxpool, conv 128, maxpool, conv 256, ReLU after each conv. */
export function vggStyle(size) {
  const m = tf.sequential();
  const init = (seed) => tf.initializers.heNormal({ seed });
  m.add(tf.layers.conv2d({ inputShape: [size, size, 3], filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 128, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(4) }));
  return m;
}

/** Multiply-add FLOPs (2 per MAC) of the conv, depthwise and dense layers of a forward pass. */
export function forwardFlops(model, upTo) {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape;
    const cfg = layer.getConfig();
    if (cls === 'Conv2D') {
      const cin = layer.input.shape[3];
      flops += 2 * out[1] * out[2] * out[3] * cfg.kernelSize[0] * cfg.kernelSize[1] * cin;
    } else if (cls === 'DepthwiseConv2D') {
      flops += 2 * out[1] * out[2] * out[3] * cfg.kernelSize[0] * cfg.kernelSize[1];
    } else if (cls === 'Dense') {
      flops += 2 * layer.input.shape[1] * out[1];
    }
    if (layer.name === upTo) break;
  }
  return flops;
}

/** ms per step: d mean(channel)/d input, then x += lr * g / (|g| mean), as the dream loop does. */
function stepTimer(model, size, channel, repeats, inputOnly = false) {
  const g0 = tf.grad((input) => tf.mean(tf.slice(model.apply(input), [0, 0, 0, channel], [-1, -1, -1, 1])));
  const grad = inputOnly ? (x) => inputGradientsOnly(() => g0(x)) : g0;
  let x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7);
  const step = () => {
    const next = tf.tidy(() => {
      const g = grad(x);
      return tf.add(x, tf.mul(g, tf.div(0.05, tf.add(tf.mean(tf.abs(g)), 1e-8))));
    });
    next.dataSync();
    x.dispose();
    x = next;
  };
  const t = timeBest(step, { warmup: 2, repeats });
  x.dispose();
  return t;
}

function forwardTimer(model, size, repeats) {
  const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 8);
  const t = timeBest(() => {
    const y = model.predict(x);
    y.dataSync();
    y.dispose();
  }, { warmup: 2, repeats });
  x.dispose();
  return t;
}

async function availableBackends() {
  const out = [];
  for (const name of ['wasm', 'cpu', 'tensorflow']) {
    try {
      if ((await initBackend(name)) === name) out.push(name);
    } catch {
      // absent (tfjs-node not installed): reported in the table
    }
  }
  return out;
}

export default async function benchGradients({ repeats = 5 } = {}) {
  console.log('\n## Gradient-ascent step (d mean(channel) / d input, then the update), batch 1');
  console.log('Best of %d steps after 2 warm-up steps. "cpu ms" is this process\'s CPU time for the step:', repeats);
  console.log('the single-threaded backends use one core, so it is the cost on an idle core even when the');
  console.log('machine is shared. GFLOP/s counts forward + input-gradient FLOPs (2 x forward conv FLOPs).\n');
  const backends = await availableBackends();
  const rows = [];
  let xnnpack;

  const models = [
    { name: 'VGG-style', size: 128, make: () => vggStyle(128), channel: 7 },
    { name: 'VGG-style', size: 224, make: () => vggStyle(224), channel: 7 },
  ];
  const haveMobileNet = existsSync(path.join(MOBILENET, 'model.json'));
  if (haveMobileNet) {
    models.push({
      name: 'MobileNet v1 0.25 → conv_pw_6_relu',
      size: 224,
      make: async () => {
        const full = await loadLayersModelFromDir(MOBILENET);
        return tf.model({ inputs: full.inputs, outputs: full.getLayer('conv_pw_6_relu').output });
      },
      channel: 3,
    });
    models.push({ ...models[models.length - 1], name: 'MobileNet, inputGradientsOnly', inputOnly: true });
  }

  for (const backend of ['wasm', 'cpu', 'tensorflow']) {
    if (!backends.includes(backend)) {
      rows.push(`| ${backend} | not available | | | | | | |`);
      continue;
    }
    await initBackend(backend);
    for (const spec of models) {
      const model = await spec.make();
      const flops = 2 * forwardFlops(model);
      // cpu takes about a second per step: fewer repeats keep the bench short.
      const reps = backend === 'cpu' ? 2 : repeats;
      if (spec.inputOnly && backend !== 'wasm') {
        model.dispose();
        continue;
      }
      const t = stepTimer(model, spec.size, spec.channel, reps, spec.inputOnly);
      const gflops = flops / (t.wall * 1e6);
      const gflopsCpu = flops / (t.cpu * 1e6);
      const g = (v) => fmt(v, v < 1 ? 2 : 1);
      let note = '';
      if (backend === 'wasm' && spec.name === 'VGG-style' && spec.size === 224) {
        const fwd = forwardTimer(model, spec.size, repeats);
        const fwdGflops = forwardFlops(model) / (fwd.wall * 1e6);
        const fwdGflopsCpu = forwardFlops(model) / (fwd.cpu * 1e6);
        xnnpack = { fwd, fwdGflops, fwdGflopsCpu, stepGflops: gflops, stepGflopsCpu: gflopsCpu, step: t };
        note = `forward ${fmt(fwd.wall)} ms wall / ${fmt(fwd.cpu)} ms cpu = ${fmt(fwdGflops)} / ${fmt(fwdGflopsCpu)} GFLOP/s`;
      }
      rows.push(`| ${backend} | ${spec.name} | ${spec.size} | ${fmt(t.wall)} | ${fmt(t.cpu)} | ${g(gflops)} | ${g(gflopsCpu)} | ${note} |`);
      model.dispose();
    }
  }
  if (!haveMobileNet) console.log(`MobileNet rows skipped: ${MOBILENET} is absent (../shared is not beside the project)\n`);
  console.log('| backend | model | px | ms/step (wall) | cpu ms/step | GFLOP/s (wall) | GFLOP/s (cpu) | notes |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) console.log(r);
  if (xnnpack) {
    const ok = xnnpack.step.wall <= 120 ? 'met' : 'MISSED';
    const okCpu = xnnpack.step.cpu <= 120 ? 'met' : 'missed';
    const ratio = (100 * xnnpack.stepGflops) / xnnpack.fwdGflops;
    const ratioCpu = (100 * xnnpack.stepGflopsCpu) / xnnpack.fwdGflopsCpu;
    console.log(`\nwasm VGG-style 224 px: ${fmt(xnnpack.step.wall)} ms/step wall (target ≤ 120 ms: ${ok}), ` +
      `${fmt(xnnpack.step.cpu)} ms CPU (${okCpu}).`);
    console.log(`Step vs forward XNNPACK conv GFLOP/s: ${fmt(xnnpack.stepGflops)} / ${fmt(xnnpack.fwdGflops)} = ${fmt(ratio, 0)}% on wall time, ` +
      `${fmt(xnnpack.stepGflopsCpu)} / ${fmt(xnnpack.fwdGflopsCpu)} = ${fmt(ratioCpu, 0)}% on CPU time (target ≥ 65%: ${Math.min(ratio, ratioCpu) >= 65 ? 'met' : 'MISSED'}).`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchGradients();
