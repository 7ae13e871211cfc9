// `npm run bench -- --profile [--model DIR] [--layer NAME|INDEX] [--batch 16] [--size 128] [--fit] [--steps 3]`:
// where one dream step's time goes, per tfjs kernel name, forward and backward, on the wasm
// backend, for any model (default: the bundled one and its default dream layer). The step is a
// 16-filter channel objective's gradient w.r.t. a batch of pictures through the dream probe
// (fused convs and all, as `cnnviz dream` runs it), timed with tf.profile (each kernel timed as
// it runs: the wasm backend computes synchronously). A kernel made of other kernels (e.g. an
// input gradient computed as a conv2d) and a custom gradient's scope count only their own time,
// the rest goes to the kernels inside (their nesting depth is read as each finishes). Forward
// kernels are the ones recorded by the time the loss is computed.
// --fit feeds pictures at the model's input size (--render-scale fit), else --size (native).
// The parameterization, transforms and Adam update around the step are not in the table; the
// line "whole step" says how much they add.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));

function option(args, name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}

export default async function profile(args = process.argv.slice(2)) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await dist('backend/select.js');
  const { loadModel } = await dist('model/load.js');
  const { createProbe } = await dist('dream/probe.js');
  const { channel } = await dist('dream/objectives/units.js');
  const { lastSpatialLayer } = await dist('model/default-layer.js');

  await initBackend(option(args, 'backend', 'wasm'));
  const loaded = await loadModel(option(args, 'model', undefined));
  const layers = loaded.graph.layers;
  const given = option(args, 'layer', undefined);
  const index = given === undefined ? lastSpatialLayer(layers) : /^\d+$/.test(given) ? Number(given) : layers.findIndex((l) => l.name === given);
  if (!(index >= 0 && index < layers.length)) {
    console.error(`profile: no layer '${given}' in ${loaded.source}: give a name or index 0-${layers.length - 1} (cnnviz layers -m MODEL lists them)`);
    process.exit(2);
  }
  const info = layers[index];
  const channels = info.outputShape.at(-1);
  const batch = Number(option(args, 'batch', 16));
  const steps = Number(option(args, 'steps', 3));
  const inputShape = loaded.model.inputs[0].shape;
  const size = args.includes('--fit') ? inputShape[1] ?? 224 : Number(option(args, 'size', 128));
  const units = Array.from({ length: batch }, (_, i) => i % channels);
  const objective = channel({ layer: index }, units);
  const probe = createProbe(loaded, objective.reads);
  const [lo, hi] = loaded.meta.inputRange;
  const x = tf.randomUniform([batch, size, size, inputShape[3] ?? 3], lo, hi, 'float32', 1);
  const picks = tf.oneHot(tf.tensor1d(units, 'int32'), channels);
  // Each picture's own channel, averaged over positions: the channel objective's value.
  // While profiling, the kernels recorded by the time the loss exists are the forward pass's.
  let forwardCount = 0;
  const loss = (v) => {
    const out = probe.apply(v)[0];
    const value = tf.neg(tf.sum(tf.mul(tf.mean(out, [1, 2]), picks)));
    forwardCount = tf.engine().state.activeProfile?.kernels.length ?? 0;
    return value;
  };
  // Read outside tidy: a typed array returned through tidy is walked element by element (it
  // once added 180 ms to this 190 ms step and made the kernels look like half of it).
  const step = () => {
    const g = tf.tidy(() => tf.grad(loss)(x));
    g.dataSync();
    g.dispose();
  };
  step(); // warm-up: wasm kernels compiled, weights folded

  // The depth of each profiled kernel, in the order tf.profile records them (as they finish).
  const engine = tf.engine();
  const depths = [];
  const profileKernel = engine.profiler.profileKernel.bind(engine.profiler);
  engine.profiler.profileKernel = (name, inputs, f) => {
    const result = profileKernel(name, inputs, f);
    depths.push(engine.state.kernelDepth);
    return result;
  };

  const byKind = new Map();
  let wall = Infinity;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    step();
    wall = Math.min(wall, performance.now() - t0);
    depths.length = 0;
    const p = await tf.profile(step);
    // Children finish before their parent: sum them per depth, subtract from the parent.
    const inner = [];
    p.kernels.forEach((k, i) => {
      const d = depths[i];
      const own = k.kernelTimeMs - (inner[d + 1] ?? 0);
      inner[d + 1] = 0;
      inner[d] = (inner[d] ?? 0) + k.kernelTimeMs;
      const row = byKind.get(k.name) ?? { forward: 0, backward: 0, calls: 0 };
      row[i < forwardCount ? 'forward' : 'backward'] += own / steps;
      row.calls += 1 / steps;
      byKind.set(k.name, row);
    });
  }
  const rows = [...byKind.entries()].sort((a, b) => b[1].forward + b[1].backward - (a[1].forward + a[1].backward));
  const total = rows.reduce((a, [, r]) => a + r.forward + r.backward, 0);
  const fwd = rows.reduce((a, [, r]) => a + r.forward, 0);
  console.log(`\n## profile: one dream step on ${tf.getBackend()}, ${path.relative(process.cwd(), loaded.source) || loaded.source}, layer ${index} ${info.name}, batch ${batch}, ${size}x${size} px (mean of ${steps} profiled steps)`);
  console.log(`whole step (gradient, unprofiled, best of ${steps}): ${wall.toFixed(0)} ms; kernels: ${total.toFixed(0)} ms (forward ${fwd.toFixed(0)}, backward ${(total - fwd).toFixed(0)})`);
  console.log('| kernel | forward ms | backward ms | share | calls |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, r] of rows) {
    if ((r.forward + r.backward) / total < 0.002) continue;
    console.log(`| ${name} | ${r.forward.toFixed(1)} | ${r.backward.toFixed(1)} | ${((100 * (r.forward + r.backward)) / total).toFixed(1)}% | ${Math.round(r.calls)} |`);
  }
  tf.dispose([x, picks]);
}

if (import.meta.url === `file://${process.argv[1]}`) await profile();
