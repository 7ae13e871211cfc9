// The library's public entry (`import … from 'cnnviz'`): a hand-kept set, each name documented
// in docs/library.md, which test/public-api.test.ts holds equal to what this file exports.
// Everything else (the CLI, backend kernels, dream internals) may change without notice: add a
// name here only with its line in docs/library.md.

// ---- Errors ----------------------------------------------------------------------------
/** Bad input from the caller (a layer out of range, a file that is not a model): the CLI exits 2. */
export { UsageError } from './errors.js';
/** A failure while doing the work (out of memory, a diverging dream): the CLI exits 1. */
export { RuntimeError } from './errors.js';

// ---- Backend -----------------------------------------------------------------------------
/** Start tfjs on 'auto' (tfjs-node if installed, else wasm), 'tensorflow', 'wasm' or 'cpu'; call once before loading a model. */
export { initBackend } from './backend/select.js';
/** The backend names `initBackend` accepts and returns. */
export type { BackendName, BackendRequest } from './backend/select.js';

// ---- Load a model ------------------------------------------------------------------------
/** Open a TF.js layers or graph model.json (or its folder), or a Keras .h5/.keras file; no path: the bundled cats/dogs model. */
export { loadModel } from './model/load.js';
/** The model.json of the bundled cats/dogs model (a MobileNet v1 0.25 backbone, 84 layers). */
export { DEFAULT_MODEL } from './model/load.js';
/** Wrap a tf.LayersModel built in memory as a LoadedModel, as loadModel does for files. */
export { fromLayersModel } from './model/load.js';
/** A loaded network with its flattened layer list, input shape and input range; `LoadOptions` overrides the input range. */
export type { LoadedModel, LoadOptions } from './model/load.js';
/** One addressable layer of the flattened (nested models opened up) layer list `LoadedModel.graph.layers`, and that graph. */
export type { LayerInfo, FlatGraph } from './model/layers.js';
/** What cnnviz knows about a model's input: its value range and where that came from, its labels. */
export type { ModelMeta, InputRange } from './model/meta.js';

// ---- Address layers ----------------------------------------------------------------------
/** Every layer, as plain data (index, name, class, output shape, params): what `cnnviz layers` prints. */
export { describeLayers } from './model/summary.js';
/** A `describeLayers` answer and one of its layers. */
export type { ModelSummary, LayerSummary } from './model/summary.js';
/** Layer indices from a spec: an index (negative counts from the end), a name, a glob, a range, a list. */
export { resolveLayers } from './model/address.js';
/** Exactly one layer index from a spec, or a UsageError naming what the spec matched. */
export { resolveLayer } from './model/address.js';
/** Channel indices from a list like '0-15', '1,5,9' or 'all', checked against a channel count. */
export { resolveIndexList } from './model/address.js';

// ---- Activations -------------------------------------------------------------------------
/** Read an image and turn it into the model's input tensor ([1, h, w, c], its size and range); the caller disposes the tensor. */
export { loadModelInput } from './model/probe.js';
/** Options of `loadModelInput` (fit, size for free-size models, pixel limit). */
export type { InputOptions } from './model/probe.js';
/** Activations of many layers in one forward pass, read back to plain arrays, with the model's output for classifiers. */
export { layerActivations } from './model/probe.js';
/** One layer's activations from `layerActivations`. */
export type { LayerActivation } from './model/probe.js';
/** The k most likely classes of a classifier's output tensor, with label names when known. */
export { topPredictions } from './model/probe.js';
/** One row of `topPredictions`. */
export type { Prediction } from './model/probe.js';
/** A layer's feature maps as a coloured grid of tiles, one per channel: what `cnnviz activations` writes. */
export { renderFeatureGrid } from './image/feature-grid.js';
/** A layer's output for one image ([h, w, c] values) and the grid's options (channels, colour scaling, colormap, tile size). */
export type { FeatureMaps, FeatureGridOptions } from './image/feature-grid.js';

// ---- Dream (feature visualization) -------------------------------------------------------
/**
 * Paint the pictures that maximize an objective expression (docs/dream.md), one per unit its
 * `unit` stands for (times --diversity copies), in batches spread over worker threads.
 */
export { createDreamPool, dreamUnits } from './dream/schedule.js';
/** Lucid's defaults for every dream setting (fft, decorrelated, standard transforms, Adam, 512 steps, 128 px). */
export { DEFAULTS as DREAM_DEFAULTS } from './dream/render.js';
export { DIVERSITY_DEFAULTS } from './dream/objectives/group.js';
/** One picture for many units: the pictures of a `dreamUnits` run as a labelled grid. */
export { dreamSheet } from './dream/sheet.js';
/** The settings of a dream (parameterization, transforms, optimizer, steps, size, seed). */
export type { DreamSettings } from './dream/render.js';
/** What `dreamUnits` renders (objective, units, copies, settings, start picture) and its result (pictures, final objectives, frames). */
export type { BatchSpec, DreamRun, ObjectiveSpec } from './dream/batch.js';
/** How `dreamUnits` runs (batch size, workers) and the progress it reports. */
export type { RunOptions, DreamProgress } from './dream/schedule.js';

// ---- Attribution (cnnviz cam, cnnviz saliency, docs/cam.md) -------------------------------
/** Class activation maps (gradcam, gradcam++, layercam, scorecam, eigencam) of one layer: build once per model and options, `explain(x)` per image. */
export { createCam, camMap, CAM_METHODS } from './attribution/cam.js';
/** CAM options (method, class or top K, layer), a built explainer, a method name. */
export type { CamOptions, Cam, CamMethod } from './attribution/cam.js';
/** Gradient saliency (vanilla, smoothgrad, integrated-gradients, gradxinput, guided): build once, `explain(x)` per image. */
export { createSaliency, saliencyMap, SALIENCY_METHODS, SALIENCY_DEFAULTS } from './attribution/saliency.js';
/** Saliency options (method, class, samples, noise, steps, baseline, quadrature), a built explainer, names. */
export type { SaliencyOptions, Saliency, SaliencyMethod, Baseline } from './attribution/saliency.js';
/** The default CAM layer: the last 2x2-or-more feature map that reaches the classifier, not pooling nor a 1x1 logits conv. */
export { defaultCamLayer } from './attribution/layer.js';
/** A map (values, width, height, class, label, score, method), its statistics (peak, min, max, mean, sum), bilinear resizing. */
export { mapStats, resizeMap } from './attribution/map.js';
export type { AttributionMap, MapStats } from './attribution/map.js';
/** Maps of one photo as a picture: colormap over the photo, or bare; one labelled tile per class. */
export { renderMaps } from './attribution/render.js';
export type { RenderOptions } from './attribution/render.js';

// ---- Dataset index (cnnviz index, docs/index.md) -----------------------------------------
/** Build or extend an index folder over photos: incremental, crash-safe, optionally one shard. */
export { buildIndex } from './dataset-index/build.js';
/** The layers an index records for a --layers spec (default: the spatial layers ending in a non-linearity). */
export { chooseLayers as chooseIndexLayers } from './dataset-index/compute.js';
/** Join index folders (shards) built with the same model, layers and input into a new one. */
export { mergeIndexes } from './dataset-index/merge.js';
/** Open an index folder (manifest, arrays, chunks of an unfinished run) for ranking. */
export { openIndex } from './dataset-index/query.js';
/** The same statistics over photos given here, kept in memory: nothing written. */
export { indexInMemory } from './dataset-index/query.js';
/** Map a box in the model's input back to the photo, by the fit the index recorded. */
export { inputBoxToPhoto } from './dataset-index/query.js';
/** An index in memory, one ranked photo, a layer and its arrays, the input fit, a box. */
export type { DatasetIndex, RankedUnit, RankOptions, IndexLayer, LayerStats, IndexInput, Box, InMemoryOptions } from './dataset-index/query.js';
/** `buildIndex`'s options and what it reports. */
export type { BuildOptions, BuildReport } from './dataset-index/build.js';

// ---- Report (cnnviz report, docs/report.md) ---------------------------------------------
/** Write or update a model's static site (model, layer, unit, image pages); incremental, optionally one shard. */
export { buildReport } from './report/build.js';
/** Join report folders made with --shard into one site. */
export { mergeReports } from './report/merge.js';
/** `buildReport`'s options and result. */
export type { ReportOptions, ReportResult } from './report/build.js';
/** One extra section of an image page (the Grad-CAM hook). */
export type { ImageSection } from './report/pages.js';

// ---- Images ------------------------------------------------------------------------------
/** The in-memory picture every function shares: interleaved 8-bit samples, row-major. */
export type { Raster } from './image/raster.js';
/** Read an image file (or '-' for stdin) into a Raster, converted and resized as asked. */
export { readImage } from './image/io.js';
/** Decode image bytes already in memory into a Raster, as readImage does. */
export { decodeImage } from './image/io.js';
/** Options of `readImage`/`decodeImage`: channels, size, fit, pixel limit. */
export type { DecodeOptions } from './image/io.js';
/** A Raster as PNG bytes. */
export { encodePng } from './image/io.js';
/** Write bytes to a file atomically (temp file, then rename), or to stdout for '-'. */
export { writeOutput } from './image/io.js';
/** A Raster as a PNG file (or stdout for '-'), atomically. */
export { writePng } from './image/io.js';
/** Lay equal-sized Rasters out in a near-square grid, optionally labelled. */
export { tileGrid } from './image/grid.js';
/** Options of `tileGrid`: columns, gutter, background, labels, scale. */
export type { TileGridOptions } from './image/grid.js';
