// `npm run quality`: first the bundled model's checks (issue 17), then the dream acceptance
// table (issues 4 and 16) on the real MobileNet and the 500 cats-dogs val photos: our method
// (Lucid's defaults) at native render scale and at fit scale, and the Keras baseline, side by
// side. Every dream is made by the CLI as a user types it, and scored at the size the network
// saw it: native at its own 128 px, fit and the baseline resized to the model's 224.
//
//   node scripts/quality.js [--only bundled|mobilenet] [--model models/catsdogs] [--layers a,b,c] [--filters 0-15] [--steps 512]
//                           [--methods native,fit,keras] [--baseline <other checkout>/bin/cnnviz.js] [--backend wasm] [--out dir]
//
// --baseline adds a column: the fit-scale dreams of another build (the commit before issue 16),
// made in the same run, so issue 16's acceptance 5 (fit within one count per column and 0.02 HF
// share of it) is checked here.
//
// Bundled model (models/catsdogs), each picture made by the CLI exactly as a user types it:
//   layer 1        `cnnviz dream --layer 1 --filter 3 --seed 1`: luminance std (>= 0.08) and the
//                  orientation ratio (largest of 12 orientation bins / mean bin, >= 2.5), see orientationScore
//   layer 25       `cnnviz dream --layer 25 --filters 0-15 --seed 1`: superstimulus and distinct (>= 90% each)
//
// Measures, per layer (see docs/dream.md for what each means):
//   superstimulus  dreams whose target-channel mean beats the best of the photos (224 px, centre crop)
//   distinct       dreams of filter f that excite channel f more than any other filter's dream does
//   HF share       median share of power above half Nyquist (grey 128 px dream, mean removed, Hann window)
//   rank           median rank of the target channel by z-score against the photos (1 = best)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared');
const MOBILENET = path.join(SHARED, 'data/models/mobilenet-v1-0.25-224');
const PHOTOS = path.join(SHARED, 'data/cats-dogs/val');

const lib = await import(path.join(ROOT, 'dist/index.js'));
const { initBackend, loadModel, readImage, encodePng, decodeImage, writePng, tileGrid, resolveIndexList } = lib;
// Tensors in, tensors out: below the public API, which hands activations back as arrays.
const { probeActivations, rasterToTensor } = await import(path.join(ROOT, 'dist/model/probe.js'));
const { dreamUnits } = await import(path.join(ROOT, 'dist/dream/schedule.js'));
const { DEFAULTS, KERAS_BASELINE } = await import(path.join(ROOT, 'dist/dream/render.js'));
const { layerActivationFn } = await import(path.join(ROOT, 'dist/model/layer-fn.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** One DFT of n samples at offset, offset+stride, ... from (inRe, inIm) into (outRe, outIm). */
function dftInPlace(outRe, outIm, inRe, inIm, offset, stride, n) {
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      const [c, s] = [Math.cos(a), Math.sin(a)];
      const xr = inRe[offset + t * stride];
      const xi = inIm ? inIm[offset + t * stride] : 0;
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    outRe[offset + k * stride] = sr;
    outIm[offset + k * stride] = si;
  }
}

/** Share of power above half the Nyquist frequency: grey, mean removed, Hann-windowed, 2-D DFT. */
export function highFrequencyShare(raster) {
  const { width: w, height: h, channels: c, data } = raster;
  const g = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    g[i] = c === 1 ? data[i] : 0.299 * data[i * c] + 0.587 * data[i * c + 1] + 0.114 * data[i * c + 2];
  }
  const mean = g.reduce((a, v) => a + v, 0) / g.length;
  const hann = (n, N) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (N - 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) g[y * w + x] = (g[y * w + x] - mean) * hann(x, w) * hann(y, h);
  // Separable DFT: along x for every row, then along y for every column.
  const re = new Float64Array(w * h);
  const im = new Float64Array(w * h);
  for (let y = 0; y < h; y++) dftInPlace(re, im, g, null, y * w, 1, w);
  for (let x = 0; x < w; x++) dftInPlace(re, im, re.slice(), im.slice(), x, w, h);
  let total = 0;
  let high = 0;
  for (let l = 0; l < h; l++) {
    for (let k = 0; k < w; k++) {
      const p = re[l * w + k] ** 2 + im[l * w + k] ** 2;
      const fx = (k <= w / 2 ? k : k - w) / w;
      const fy = (l <= h / 2 ? l : l - h) / h;
      total += p;
      if (Math.hypot(fx, fy) > 0.25) high += p;
    }
  }
  return total > 0 ? high / total : 0;
}

/**
 * Is a picture an oriented pattern rather than a flat colour (issue 17)? Luminance in [0, 1]
 * (Rec.601 grey, as cnnviz converts), the centred square of side n: its standard deviation,
 * and, after removing the mean and applying a 2-D Hann window, how the power |FFT|^2 at radii
 * strictly between 4 and n/2 cycles per picture spreads over 12 orientation bins of [0, 180):
 * the largest bin over the mean bin. Stripes score 3-5, a flat blob or isotropic texture ~1-2.
 */
export function orientationScore(raster) {
  const { width: w, height: h, channels: c, data } = raster;
  const n = Math.min(w, h);
  const x0 = Math.floor((w - n) / 2);
  const y0 = Math.floor((h - n) / 2);
  const g = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = (y + y0) * w + (x + x0);
      g[y * n + x] = (c === 1 ? data[i] : 0.299 * data[i * c] + 0.587 * data[i * c + 1] + 0.114 * data[i * c + 2]) / 255;
    }
  }
  const mean = g.reduce((a, v) => a + v, 0) / g.length;
  const std = Math.sqrt(g.reduce((a, v) => a + (v - mean) ** 2, 0) / g.length);
  const hann = (k) => 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (n - 1));
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) g[y * n + x] = (g[y * n + x] - mean) * hann(x) * hann(y);
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let y = 0; y < n; y++) dftInPlace(re, im, g, null, y * n, 1, n);
  for (let x = 0; x < n; x++) dftInPlace(re, im, re.slice(), im.slice(), x, n, n);
  const bins = new Float64Array(12);
  for (let l = 0; l < n; l++) {
    for (let k = 0; k < n; k++) {
      const fx = k <= n / 2 ? k : k - n;
      const fy = l <= n / 2 ? l : l - n;
      const r = Math.hypot(fx, fy);
      if (!(r > 4 && r < n / 2)) continue;
      const angle = ((Math.atan2(fy, fx) * 180) / Math.PI + 360) % 180;
      bins[Math.min(11, Math.floor(angle / 15))] += re[l * n + k] ** 2 + im[l * n + k] ** 2;
    }
  }
  const meanBin = bins.reduce((a, v) => a + v, 0) / bins.length;
  return { n, std, ratio: meanBin > 0 ? Math.max(...bins) / meanBin : 0, bins: Array.from(bins) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Per-layer channel means [n][channels] for a list of 224 px rasters, batched. */
function channelMeans(loaded, rasters, layerIdx) {
  const out = layerIdx.map(() => []);
  for (let i = 0; i < rasters.length; i += 25) {
    const chunk = rasters.slice(i, i + 25);
    const batch = tf.tidy(() => tf.concat(chunk.map((r) => rasterToTensor(r, loaded.meta.inputRange))));
    const { activations } = probeActivations(loaded, batch, layerIdx);
    activations.forEach((a, j) => {
      const m = tf.tidy(() => a.mean([1, 2]));
      const [n, ch] = m.shape;
      const v = m.dataSync();
      for (let b = 0; b < n; b++) out[j].push(Array.from(v.subarray(b * ch, (b + 1) * ch)));
      m.dispose();
      a.dispose();
    });
    batch.dispose();
  }
  return out;
}

/**
 * Channel means [n][channels] at one layer for rasters of any size: the network is fed each at
 * its own size (the probe of predict() only takes the model's input size).
 */
function channelMeansAnySize(loaded, rasters, layerIndex) {
  const fn = layerActivationFn(loaded, layerIndex);
  return rasters.map((r) =>
    tf.tidy(() => Array.from(fn(rasterToTensor(r, loaded.meta.inputRange)).mean([0, 1, 2]).dataSync())),
  );
}

function cli(args, bin = path.join(ROOT, 'bin/cnnviz.js')) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`cnnviz ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** Channel means of dreams: through the same probe as the photos when they are the model's size. */
function dreamChannelMeans(loaded, rasters, layerIndex) {
  const [h, w] = loaded.inputShape;
  const modelSized = rasters.every((r) => r.height === h && r.width === w);
  return modelSized ? channelMeans(loaded, rasters, [layerIndex])[0] : channelMeansAnySize(loaded, rasters, layerIndex);
}

async function readPhotos(size) {
  const files = ['cat', 'dog'].flatMap((c) => readdirSync(path.join(PHOTOS, c)).map((f) => path.join(PHOTOS, c, f)));
  const photos = [];
  for (const f of files) photos.push(await readImage(f, { channels: 3, size: [size, size], fit: 'cover' }));
  return photos;
}

/** Superstimulus and distinctness of dreams of `units` at one layer, against the photos. */
function score(loaded, layerIndex, units, dreams, photos) {
  const rows = channelMeans(loaded, photos, [layerIndex])[0];
  const max = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c])));
  const dreamMeans = dreamChannelMeans(loaded, dreams, layerIndex);
  const superstim = units.filter((u, i) => dreamMeans[i][u] > max[u]).length;
  const distinct = units.filter((u, i) => units.every((_, j) => j === i || dreamMeans[i][u] > dreamMeans[j][u])).length;
  return { superstim, distinct };
}

async function bundled(outDir) {
  const model = arg('model', path.join(ROOT, 'models/catsdogs'));
  const loaded = await loadModel(model);
  const side = loaded.inputShape[0];
  const l1 = path.join(outDir, 'bundled-layer1-filter3.png');
  const note = cli(['dream', '-m', model, '--layer', '1', '--filter', '3', '--seed', '1', '-o', l1]).stderr;
  const o = orientationScore(await readImage(l1, { channels: 3 }));
  const l1ok = o.std >= 0.08 && o.ratio >= 2.5;
  console.log(`\n## bundled model (${loaded.meta.name}, ${loaded.graph.layers.length} layers)`);
  console.log(`layer 1 (${loaded.graph.layers[1].name}), filter 3, seed 1: luminance std ${o.std.toFixed(3)} (target >= 0.08), orientation ratio ${o.ratio.toFixed(2)} (target >= 2.5): ${l1ok ? 'holds' : 'MISSES'}  [${l1}]`);
  for (const line of note.split('\n').filter((l) => /warning/.test(l))) console.log(`  ${line}`);

  const dir = path.join(outDir, 'bundled-layer25');
  mkdirSync(dir, { recursive: true });
  const json = JSON.parse(cli(['dream', '-m', model, '--layer', '25', '--filters', '0-15', '--seed', '1', '-o', path.join(outDir, 'bundled-layer25.png'), '--out-dir', dir, '--json']).stdout);
  const scale = json.settings.renderScale ?? 'fit';
  const units = Array.from({ length: 16 }, (_, i) => i);
  const dreams = [];
  for (const u of units) {
    const file = readdirSync(dir).find((f) => f.endsWith(`.${u}.png`));
    // Scored at the size the network saw it at: its own at native scale, the model's at fit.
    dreams.push(await readImage(path.join(dir, file), scale === 'native' ? { channels: 3 } : { channels: 3, size: [side, side], fit: 'fill' }));
  }
  const photos = await readPhotos(side);
  const { superstim, distinct } = score(loaded, 25, units, dreams, photos);
  const pct = (k) => `${k}/16 (${((100 * k) / 16).toFixed(0)}%)`;
  console.log(`layer 25 (${loaded.graph.layers[25].name}), filters 0-15, seed 1, ${scale} render scale: superstimulus ${pct(superstim)}, distinct ${pct(distinct)} (targets >= 90%): ${superstim >= 14.4 && distinct >= 14.4 ? 'holds' : 'MISSES'}  [${outDir}/bundled-layer25.png]`);
  loaded.model.dispose();
}

async function main() {
  const only = arg('only', 'all');
  const outDir0 = arg('out', path.join(ROOT, 'tmp/quality'));
  mkdirSync(outDir0, { recursive: true });
  if (only !== 'mobilenet') {
    if (!existsSync(PHOTOS)) console.log(`skipped the bundled model's checks: ${PHOTOS} is absent (../shared is not beside the project)`);
    else {
      await initBackend(arg('backend', 'wasm'));
      await bundled(outDir0);
    }
    if (only === 'bundled') return;
  }
  if (!existsSync(MOBILENET) || !existsSync(PHOTOS)) {
    console.log(`skipped: ${MOBILENET} or ${PHOTOS} is absent (../shared is not beside the project)`);
    return;
  }
  const backend = await initBackend(arg('backend', 'wasm'));
  const layerNames = arg('layers', 'conv_pw_3_relu,conv_pw_7_relu,conv_pw_11_relu').split(',');
  const steps = Number(arg('steps', DEFAULTS.steps));
  const batch = Number(arg('batch', 8));
  const outDir = arg('out', path.join(ROOT, 'tmp/quality'));
  mkdirSync(outDir, { recursive: true });
  const loaded = await loadModel(MOBILENET);
  const layerIdx = layerNames.map((n) => {
    const i = loaded.graph.layers.findIndex((l) => l.name === n);
    if (i < 0) throw new Error(`no layer ${n}`);
    return i;
  });

  const t0 = Date.now();
  const files = ['cat', 'dog'].flatMap((c) => readdirSync(path.join(PHOTOS, c)).map((f) => path.join(PHOTOS, c, f)));
  const photos = [];
  for (const f of files) photos.push(await readImage(f, { channels: 3, size: [224, 224], fit: 'cover' }));
  const photoMeans = channelMeans(loaded, photos, layerIdx);
  const stats = photoMeans.map((rows) => {
    const ch = rows[0].length;
    const mean = Array.from({ length: ch }, (_, c) => rows.reduce((a, r) => a + r[c], 0) / rows.length);
    const std = mean.map((m, c) => Math.sqrt(rows.reduce((a, r) => a + (r[c] - m) ** 2, 0) / rows.length) || 1e-6);
    const max = mean.map((_, c) => Math.max(...rows.map((r) => r[c])));
    return { mean, std, max };
  });
  console.error(`${photos.length} photos scored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const keras = ['--param', 'pixel', '--no-decorrelate', '--transforms', 'none', '--optimizer', 'sgd-l2'];
  const stepFlags = ['--steps', String(steps)];
  const allMethods = {
    native: { label: 'native (ours: fft, decorrelated, standard transforms, Adam; fed at 128 px)', args: [...stepFlags, '--render-scale', 'native'], scale: 'native' },
    fit: { label: 'fit (ours, resized to 224 as Lucent)', args: [...stepFlags, '--render-scale', 'fit'], scale: 'fit' },
    keras: { label: `Keras baseline (pixel, sgd-l2, ${KERAS_BASELINE.steps} steps, fit)`, args: [...keras, '--render-scale', 'fit'], scale: 'fit' },
  };
  const methods = arg('methods', 'native,fit,keras').split(',').map((m) => {
    if (!allMethods[m]) throw new Error(`unknown method ${m}: use ${Object.keys(allMethods).join(',')}`);
    return { key: m, ...allMethods[m] };
  });
  const baselineBin = arg('baseline');
  // The build before --render-scale renders at fit scale, and knows no such flag.
  if (baselineBin) methods.push({ key: 'baseline', label: `fit, baseline build (${baselineBin})`, args: stepFlags, scale: 'fit', bin: path.resolve(baselineBin) });

  const rows = [];
  for (const [li, name] of layerNames.entries()) {
    const count = loaded.graph.layers[layerIdx[li]].outputShape[3];
    const units = resolveIndexList(arg('filters', '0-15'), count, 'filter', `layer ${name}`);
    const row = { layer: name, n: units.length };
    for (const m of methods) {
      const dir = path.join(outDir, `${name}.${m.key}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      process.stderr.write(`${name} ${m.key}: dreaming ${units.length} filters…\n`);
      const dreamArgs = ['dream', '-m', MOBILENET, '--layer', name, '--filters', units.join(','), '--seed', '7', '--size', '128', '--batch', String(batch), '--backend', backend, '-o', path.join(outDir, `${name}.${m.key}.png`), '--out-dir', dir, '--json', ...m.args];
      const json = JSON.parse(cli(dreamArgs, m.bin).stdout);
      const images = [];
      for (const f of json.files) images.push(await readImage(f, { channels: 3 }));
      // Scored at the size the network saw the picture at: native as painted, fit resized to 224.
      const sized = m.scale === 'native' ? images : await Promise.all(images.map(async (img) => decodeImage(await encodePng(img), { channels: 3, size: [224, 224], fit: 'fill' })));
      const dreamMeans = dreamChannelMeans(loaded, sized, layerIdx[li]);
      const s = stats[li];
      const superstim = units.filter((u, i) => dreamMeans[i][u] > s.max[u]).length;
      const distinct = units.filter((u, i) => units.every((_, j) => j === i || dreamMeans[i][u] > dreamMeans[j][u])).length;
      const hfs = images.map(highFrequencyShare);
      const ranks = units.map((u, i) => {
        const z = dreamMeans[i].map((v, c) => (v - s.mean[c]) / s.std[c]);
        return 1 + z.filter((v) => v > z[u]).length;
      });
      row[m.key] = { superstim, distinct, hf: median(hfs), rank: median(ranks), ranks, seconds: json.seconds, channels: count };
      // Partial results as they come: a long run that is stopped early still says something.
      console.error(`${name} ${m.label}: superstimulus ${superstim}/${units.length}, distinct ${distinct}/${units.length}, HF ${hfs.map((v) => v.toFixed(2)).join(' ')}, ranks ${ranks.join(' ')}, ${json.seconds.toFixed(0)} s`);
    }
    rows.push(row);
  }

  console.log(`\n## dream quality: MobileNet v1 0.25, ${steps} steps (Keras baseline ${KERAS_BASELINE.steps}), 128 px pictures, seed 7, backend ${backend}, ${photos.length} photos at 224 px (centre crop)`);
  console.log('Each cell: superstimulus / distinct / median HF share / median rank / optimization time. Dreams are scored at the size the network saw them at: native at 128 px, fit at 224.');
  console.log(`| layer | ${methods.map((m) => m.label).join(' | ')} |`);
  console.log(`| --- | ${methods.map(() => '---').join(' | ')} |`);
  for (const r of rows) {
    const cell = (c) => `${c.superstim}/${r.n} / ${c.distinct}/${r.n} / ${c.hf.toFixed(2)} / ${c.rank} of ${c.channels} / ${c.seconds.toFixed(0)} s`;
    console.log(`| ${r.layer} | ${methods.map((m) => cell(r[m.key])).join(' | ')} |`);
  }
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  if (row0Has(rows, 'native')) {
    // Issue 16, acceptance 2: at native scale, per layer.
    console.log('\nnative render scale (issue 16, acceptance 2): superstimulus >= 15/16, distinct >= 15/16, median HF share <= 0.2, on every layer');
    for (const r of rows) {
      const c = r.native;
      const need = Math.ceil((15 / 16) * r.n);
      console.log(`  ${r.layer}: superstimulus ${c.superstim}/${r.n} (>= ${need}: ${verdict(c.superstim >= need)}), distinct ${c.distinct}/${r.n} (>= ${need}: ${verdict(c.distinct >= need)}), HF ${c.hf.toFixed(2)} (<= 0.2: ${verdict(c.hf <= 0.2)})`);
    }
  }
  if (row0Has(rows, 'fit') && row0Has(rows, 'baseline')) {
    // Issue 16, acceptance 5: explicit fit stays where the build before this work was.
    console.log('\nfit render scale against the baseline build (issue 16, acceptance 5): within one count per column and 0.02 HF share per layer');
    for (const r of rows) {
      const [a, b] = [r.fit, r.baseline];
      const ok = Math.abs(a.superstim - b.superstim) <= 1 && Math.abs(a.distinct - b.distinct) <= 1 && Math.abs(a.hf - b.hf) <= 0.02;
      console.log(`  ${r.layer}: superstimulus ${a.superstim} vs ${b.superstim}, distinct ${a.distinct} vs ${b.distinct}, HF ${a.hf.toFixed(2)} vs ${b.hf.toFixed(2)}: ${verdict(ok)}`);
    }
  } else if (row0Has(rows, 'fit')) {
    console.log('\nfit render scale: compare with the table of the build before issue 16 (acceptance 5: within one count per column, 0.02 HF share); --baseline <bin/cnnviz.js> does it in this run');
  }
  console.log(`sheets: ${outDir}`);
}

const row0Has = (rows, key) => rows.length > 0 && key in rows[0];

if (import.meta.url === `file://${process.argv[1]}`) await main();
