import type * as tf from '@tensorflow/tfjs';
import { createCam, type Cam } from '../attribution/cam.js';
import { type AttributionMap } from '../attribution/map.js';
import { mapPeak, renderMap } from '../attribution/render.js';
import { UsageError } from '../errors.js';
import { type Raster } from '../image/raster.js';
import { type LoadedModel } from '../model/load.js';
import { esc } from './html.js';
import { type ImageSection } from './pages.js';

/** Classes an image page explains: the top 1 and the runner-up, whose contrast is often the point. */
export const CAM_CLASSES = 2;

/** Grad-CAM for a report's image pages, or why this model has none. */
export type ReportCam = { cam: Cam; layerName: string } | { unavailable: string };

/**
 * Grad-CAM at the attribution library's default layer (the last feature map of at least 2x2
 * that reaches the classifier), for the top CAM_CLASSES classes. A model the library cannot
 * explain (no class scores to take a gradient of, or no feature map before its classifier)
 * gets the library's reason instead, shown on each image page.
 */
export function reportCam(loaded: LoadedModel): ReportCam {
  try {
    const cam = createCam(loaded, { method: 'gradcam', top: CAM_CLASSES });
    return { cam, layerName: loaded.graph.layers[cam.layer].name };
  } catch (err) {
    if (err instanceof UsageError) return { unavailable: err.message };
    throw err;
  }
}

/** One overlay per class: the map, scaled to its own peak, over the photo as the model sees it (renderMap, alpha 0.5). */
export function camOverlays(c: Extract<ReportCam, { cam: Cam }>, x: tf.Tensor4D, photo: Raster): { map: AttributionMap; overlay: Raster }[] {
  return c.cam.explain(x).map((map) => ({ map, overlay: renderMap(map, photo, mapPeak(map)) }));
}

/** The image page's Grad-CAM section, given the overlay files written beside the page (same order as the maps). */
export function camSection(c: ReportCam, photoName: string, shown: { map: AttributionMap; src: string; width: number }[]): ImageSection {
  if ('unavailable' in c) return { title: 'Grad-CAM', html: `<p>Not available for this model (the attribution library says: ${esc(c.unavailable)}).</p>` };
  const figures = shown.map(({ map, src, width }, k) => {
    const label = map.label.split(',')[0];
    const alt = `Grad-CAM at ${c.layerName} for class ${label} (top ${k + 1}) over photo ${photoName}: brighter where the photo raised the class's score`;
    return `<figure><img src="${esc(src)}" alt="${esc(alt)}" width="${width}"><figcaption>top ${k + 1}: ${esc(label)} (score ${map.score.toFixed(2)})</figcaption></figure>`;
  });
  return {
    title: 'Grad-CAM',
    html: `<p>Where the evidence for each of the top ${shown.length} classes lies: Grad-CAM at layer ${esc(c.layerName)}, each map scaled to its own peak (inferno colours, half over the photo); <code>cnnviz cam PHOTO --top ${shown.length}</code> draws it too.</p><div class="row">${figures.join('')}</div>`,
  };
}
