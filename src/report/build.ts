import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIndex, modelFingerprint } from '../dataset-index/build.js';
import { chooseLayers } from '../dataset-index/compute.js';
import { type Shard } from '../dataset-index/files.js';
import { openIndex, type DatasetIndex } from '../dataset-index/query.js';
import { createDreamPool, dreamUnits } from '../dream/schedule.js';
import { cropBox } from '../examples/crop.js';
import { findExamples, layerFieldFor, type PhotoSizes } from '../examples/find.js';
import { encodePng, writeFileAtomic } from '../image/io.js';
import { renderFeatureGrid } from '../image/feature-grid.js';
import { resolveIndexList } from '../model/address.js';
import { type LoadedModel } from '../model/load.js';
import { layerActivations, loadModelInput, topPredictions } from '../model/probe.js';
import { describeLayers } from '../model/summary.js';
import { type NominalField } from '../model/receptive-field.js';
import { kernelsFigure, learnedKernels } from '../tutorial/learned.js';
import { DREAM_GROUP, DREAM_KINDS, dreamJobs, groupInShard, unitGroups, type DreamJob, type DreamKind } from './dreams.js';
import { isDone, keyOf, readManifest, writeIfChanged, writeManifest } from './manifest.js';
import { esc } from './html.js';
import { camOverlays, camSection, reportCam, type ReportCam } from './cam.js';
import { jpeg, writeIfChangedBytes } from './pictures.js';
import { imagePage, layerPage, modelPage, unitPage, type ExampleCrop, type ImageSection, type ReportLayer } from './pages.js';

export type ReportPhase = 'index' | 'dreams' | 'examples' | 'pages';

export interface ReportOptions {
  /** Folders or image files the dataset examples and histograms come from. */
  images: string[];
  /** The layers (`index --layers` syntax); default the index's default layers. */
  layers?: string;
  /** Units of every layer ('0-15', 'all'); default all. */
  units?: string;
  steps: number;
  seed: number;
  /** The model as the printed commands should name it (-m); undefined: the bundled default. */
  modelArg?: string;
  shard?: Shard;
  /** How many photos get an image page. */
  imagePages: number;
  examples: number;
  workers?: number;
  compiledDir?: string;
  onProgress?(phase: ReportPhase, done: number, total: number): void;
  /** Grad-CAM of the top classes on the image pages, where the model has one (default true). */
  cam?: boolean;
  /** Extra image-page sections, after the built-in ones. */
  imageSections?: (loaded: LoadedModel, photo: string) => Promise<ImageSection[]>;
}

export interface ReportResult {
  layers: number;
  units: number;
  dreamsMade: number;
  dreamsKept: number;
  pagesWritten: number;
  /**
   * Where the time went: wall-clock and CPU seconds (every thread of the process, so the
   * workers' too) of each phase, the dreams split by kind.
   */
  phases: Record<'index' | DreamKind | 'examples' | 'pages', PhaseTime>;
  /** Each dream run's time: one layer, one kind, a few groups of units. */
  dreamRuns: (PhaseTime & { layer: string; kind: DreamKind; units: number })[];
}

export interface PhaseTime {
  wall: number;
  cpu: number;
}

/** Charge the time since `start()` to a phase; phases charged twice add up. */
function phaseClock() {
  const phases = Object.fromEntries(['index', ...DREAM_KINDS, 'examples', 'pages'].map((k) => [k, { wall: 0, cpu: 0 }])) as ReportResult['phases'];
  return {
    phases,
    start() {
      const [wall, cpu] = [performance.now(), process.cpuUsage()];
      return (phase: keyof ReportResult['phases']): PhaseTime => {
        const used = process.cpuUsage(cpu);
        const t = { wall: (performance.now() - wall) / 1000, cpu: (used.user + used.system) / 1e6 };
        phases[phase].wall += t.wall;
        phases[phase].cpu += t.cpu;
        return t;
      };
    },
  };
}

const CROP = 80;
/** Dream groups painted by one dreamUnits call (a killed run loses at most these). */
const GROUPS_PER_CALL = 4;
const SITE_INDEX = 'data/index';

/** Temp files a killed run left (writeFileAtomic's `.name.pid.time.random.tmp`). */
async function removeStaleTemps(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'data') await removeStaleTemps(p);
    else if (e.isFile() && e.name.startsWith('.') && e.name.endsWith('.tmp')) await fs.rm(p, { force: true });
  }
}

/**
 * Write (or bring up to date) the static site in `site`: a model page, a page per layer, a page
 * per unit (dreams, dataset examples, histogram, commands), image pages. Every picture is an
 * artefact keyed by what made it; a re-run makes only what is missing or changed.
 */
export async function buildReport(loaded: LoadedModel, site: string, o: ReportOptions): Promise<ReportResult> {
  const progress = o.onProgress ?? (() => {});
  await fs.mkdir(site, { recursive: true });
  await removeStaleTemps(site);
  const fingerprint = await modelFingerprint(loaded.source);
  const summary = describeLayers(loaded);
  const indexLayers = chooseLayers(loaded, o.layers);
  const layers: ReportLayer[] = indexLayers.map((il) => ({
    index: il.index,
    name: il.name,
    dir: il.name.replace(/[^A-Za-z0-9._-]+/g, '_'),
    units: resolveIndexList(o.units ?? 'all', il.channels, 'unit', `layer ${il.name}`),
    summary: summary.layers[il.index],
  }));

  // 1. The dataset index (incremental on its own).
  const indexDir = path.join(site, SITE_INDEX);
  const clock = phaseClock();
  let charge = clock.start();
  await buildIndex(loaded, o.images, indexDir, indexLayers, { workers: o.workers, compiledDir: o.compiledDir, onProgress: (d, t) => progress('index', d, t) });
  const index = await openIndex(indexDir);
  charge('index');

  // 2. Dreams: three runs per group of 8 units, each repeatable by its printed command.
  const manifest = await readManifest(site);
  const mine = layers.flatMap((l) => unitGroups(l.units).filter((g) => groupInShard(l.name, g, o.shard)).map((g) => ({ l, g })));
  const jobs = mine.flatMap(({ l, g }) => dreamJobs(loaded, l, g, { steps: o.steps, seed: o.seed, model: o.modelArg }));
  let [made, kept, done] = [0, 0, 0];
  progress('dreams', 0, jobs.length);
  // Jobs of one layer and kind that are still to do run together, a few groups per call: the
  // batches are the groups' own (dreamUnits splits the units into the same runs of 8, or of 2
  // for the diversity row's 3 copies; only a layer's last group can be short, and it comes
  // last), so the bytes are the printed commands', while one worker pool serves them all and
  // its workers run the groups' batches side by side.
  const todo = jobs.filter((job) => {
    const ok = isDone(site, manifest, job.files.map((f) => f.site), keyOf(job.command, fingerprint));
    if (ok) kept++;
    return !ok;
  });
  done = kept;
  progress('dreams', done, jobs.length);
  const layerPos = (j: DreamJob) => layers.findIndex((l) => l.name === j.layer.name);
  // `jobs` alternates kinds (dream, neg, div per group): put each layer's kinds together, groups in order.
  todo.sort((a, b) => layerPos(a) - layerPos(b) || DREAM_KINDS.indexOf(a.kind) - DREAM_KINDS.indexOf(b.kind));
  const calls: DreamJob[][] = [];
  for (const job of todo) {
    const last = calls[calls.length - 1];
    if (last && last.length < GROUPS_PER_CALL && last[0].layer.name === job.layer.name && last[0].kind === job.kind) last.push(job);
    else calls.push([job]);
  }
  // One worker pool for the whole phase: each worker loads tfjs and the model once, not once per call.
  const workers = o.workers ?? os.availableParallelism();
  const dreamRuns: ReportResult['dreamRuns'] = [];
  const pool = calls.length && workers > 1 ? createDreamPool({ workers, compiledDir: o.compiledDir }) : undefined;
  try {
    for (const call of calls) {
      const units = call.flatMap((j) => j.units);
      charge = clock.start();
      const run = await dreamUnits(loaded, { ...call[0].spec, units }, { batchSize: DREAM_GROUP, workers, compiledDir: o.compiledDir, pool });
      let i = 0;
      for (const job of call) {
        const key = keyOf(job.command, fingerprint);
        for (const f of job.files) {
          await writeFileAtomic(path.join(site, f.site), await encodePng(run.images[i++]));
          manifest.artefacts[f.site] = key;
        }
        await writeManifest(site, manifest);
        made++;
        progress('dreams', ++done, jobs.length);
      }
      dreamRuns.push({ layer: call[0].layer.name, kind: call[0].kind, units: units.length, ...charge(call[0].kind) });
    }
  } finally {
    await pool?.close();
  }

  // 3. Dataset examples and unit pages, for this shard's units.
  let pagesWritten = 0;
  const units = mine.flatMap(({ l, g }) => g.map((u) => ({ l, u, jobs: jobs.filter((j) => j.layer.name === l.name && j.units.includes(u)) })));
  const firstConv = loaded.graph.layers.find((x) => x.isConv);
  const secondConv = firstConv && loaded.graph.layers.find((x) => x.isConv && x.index > firstConv.index);
  charge = clock.start();
  progress('examples', 0, units.length);
  // Once per run, not once per unit: a re-run with nothing to paint is mostly this loop, and a
  // photo's size (a header read) or a layer's receptive field is the same for every unit.
  const sizes: PhotoSizes = new Map();
  const fields = new Map<string, NominalField>();
  const fieldOf = (l: ReportLayer) => fields.get(l.name) ?? fields.set(l.name, layerFieldFor(loaded, l.index, index.input)).get(l.name)!;
  for (let i = 0; i < units.length; i++) {
    const { l, u, jobs: uj } = units[i];
    const crops = await unitExamples(site, index, l, fieldOf(l), u, { k: o.examples, sizes }, manifest);
    const isFirst = firstConv && l.index >= firstConv.index && (!secondConv || l.index < secondConv.index);
    const kernel = isFirst ? await unitKernel(site, loaded, firstConv, l, u, fingerprint, manifest) : undefined;
    const { stats, layer: indexed } = index.layer(l.name);
    // The unit's column of the [photo][channel] table: a strided read, not a pass over every channel's values.
    const maxima = new Float32Array(Math.floor(stats.max.length / indexed.channels));
    for (let r = u, j = 0; j < maxima.length; r += indexed.channels, j++) maxima[j] = stats.max[r];
    if (await writeIfChanged(path.join(site, 'layers', l.dir, `${u}.html`), unitPage({ model: summary, layer: l, unit: u, jobs: uj, top: crops.top, bottom: crops.bottom, maxima, kernel }))) pagesWritten++;
    progress('examples', i + 1, units.length);
  }
  await writeManifest(site, manifest);

  // 4. Model, layer and image pages: the same in every shard.
  const photos = index.files.slice(0, o.imagePages);
  const imageLinks = photos.map((p, i) => ({ href: `images/${i}.html`, name: path.basename(p) }));
  const total = 1 + layers.length + photos.length;
  const cam = photos.length && o.cam !== false ? reportCam(loaded) : undefined;
  let p = 0;
  charge('examples');
  charge = clock.start();
  progress('pages', p, total);
  if (await writeIfChanged(path.join(site, 'index.html'), modelPage(summary, layers, imageLinks))) pagesWritten++;
  progress('pages', ++p, total);
  for (let i = 0; i < layers.length; i++) {
    if (await writeIfChanged(path.join(site, 'layers', layers[i].dir, 'index.html'), layerPage(summary, layers[i], layers[i - 1], layers[i + 1]))) pagesWritten++;
    progress('pages', ++p, total);
  }
  for (let i = 0; i < photos.length; i++) {
    if (await writeIfChanged(path.join(site, 'images', `${i}.html`), await imageReport(site, loaded, photos[i], i, layers, summary, photos.length, cam, o))) pagesWritten++;
    progress('pages', ++p, total);
  }
  charge('pages');
  return { layers: layers.length, units: units.length, dreamsMade: made, dreamsKept: kept, pagesWritten, phases: clock.phases, dreamRuns };
}

/** The top and bottom k photos of a unit, cropped to its receptive field, as JPEG files keyed by the ranking. */
async function unitExamples(site: string, index: DatasetIndex, l: ReportLayer, field: NominalField, u: number, { k, sizes }: { k: number; sizes: PhotoSizes }, manifest: Awaited<ReturnType<typeof readManifest>>) {
  const out: Record<'top' | 'bottom', ExampleCrop[]> = { top: [], bottom: [] };
  for (const kind of ['top', 'bottom'] as const) {
    const [rows] = await findExamples(index, l.name, field, [u], { k, bottom: kind === 'bottom', sizes });
    for (const e of rows) {
      const name = `${u}.${kind}${e.rank === 1 ? '' : e.rank}.jpg`;
      const rel = `layers/${l.dir}/${name}`;
      const key = keyOf('crop', path.relative(site, e.file), String(e.value), JSON.stringify(e.fieldBox), String(CROP));
      if (!isDone(site, manifest, [rel], key)) {
        await writeFileAtomic(path.join(site, rel), await jpeg(await cropBox(e.file, e.fieldBox, e.photo, CROP)));
        manifest.artefacts[rel] = key;
      }
      out[kind].push({ file: path.basename(e.file), src: name, value: e.value });
    }
  }
  return out;
}

async function unitKernel(site: string, loaded: LoadedModel, conv: LoadedModel['graph']['layers'][number], l: ReportLayer, u: number, fingerprint: string, manifest: Awaited<ReturnType<typeof readManifest>>): Promise<string | undefined> {
  const k = learnedKernels(conv, loaded.graph.layers, loaded.graphModel?.weights);
  if (u >= k.filters) return undefined;
  const name = `${u}.kernel.png`;
  const rel = `layers/${l.dir}/${name}`;
  const key = keyOf('kernel', conv.name, String(u), fingerprint);
  if (!isDone(site, manifest, [rel], key)) {
    await writeFileAtomic(path.join(site, rel), await encodePng(kernelsFigure(k, { filters: [u], tileSize: 48 }).raster));
    manifest.artefacts[rel] = key;
  }
  return name;
}

/** An image page: the photo as fed, its top-5 classes, its Grad-CAM, its feature maps at the report's layers. */
async function imageReport(site: string, loaded: LoadedModel, photo: string, i: number, layers: ReportLayer[], summary: ReturnType<typeof describeLayers>, count: number, cam: ReportCam | undefined, o: ReportOptions): Promise<string> {
  const { raster, tensor } = await loadModelInput(loaded, photo);
  let result;
  let overlays;
  try {
    result = layerActivations(loaded, tensor, layers.map((l) => l.index));
    overlays = cam && 'cam' in cam ? camOverlays(cam, tensor, raster) : [];
  } finally {
    tensor.dispose();
  }
  const top = result.final ? topPredictions(result.final, loaded.meta.labels, 5) : undefined;
  result.final?.dispose();
  await writeIfChangedBytes(path.join(site, 'images', `${i}.jpg`), await jpeg(raster));
  const sections: ImageSection[] = [];
  if (cam) {
    const shown = [];
    for (const [k, { map, overlay }] of overlays.entries()) {
      const src = `${i}.cam${k + 1}.jpg`;
      await writeIfChangedBytes(path.join(site, 'images', src), await jpeg(overlay));
      shown.push({ map, src, width: overlay.width });
    }
    sections.push(camSection(cam, path.basename(photo), shown));
  }
  for (const a of result.layers) {
    const l = layers.find((x) => x.index === a.index)!;
    const file = `${i}.${l.dir}.png`;
    const channels = a.maps.shape[2];
    const grid = renderFeatureGrid(a.maps, { channels: Array.from({ length: Math.min(16, channels) }, (_, c) => c), tileSize: 48 });
    await writeIfChangedBytes(path.join(site, 'images', file), await encodePng(grid));
    sections.push({ title: `Activations at ${l.name}`, html: `<p>Channels 0-${Math.min(16, channels) - 1} of ${channels}; <a href="../layers/${l.dir}/index.html">layer page</a>.</p><img class="px" src="${file}" alt="${esc(`${l.name}: feature maps of channels 0-${Math.min(16, channels) - 1} for photo ${path.basename(photo)}`)}">` });
  }
  if (o.imageSections) sections.push(...(await o.imageSections(loaded, photo)));
  return imagePage(summary, path.basename(photo), `${i}.jpg`, top, sections, i > 0 ? `${i - 1}.html` : undefined, i + 1 < count ? `${i + 1}.html` : undefined);
}
