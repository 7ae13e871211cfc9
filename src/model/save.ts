import path from 'node:path';
import tf = require('@tensorflow/tfjs');
import { writeFileAtomic } from '../image/io.js';
import { type CnnvizJson } from './meta.js';

export const WEIGHTS_FILE = 'weights.bin';

/**
 * Save a layers model as model.json + one weights shard (+ cnnviz.json), each file written
 * atomically, in the layout `loadModel` reads. tfjs's own file:// saver lives in tfjs-node,
 * which is optional, so this IOHandler writes the files itself. The weights go first and
 * model.json after them: a model.json on disk always has its shard beside it.
 */
export async function saveModel(model: tf.LayersModel, dir: string, sidecar?: CnnvizJson): Promise<string> {
  const modelFile = path.join(dir, 'model.json');
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : Buffer.concat((data ?? []).map((b) => new Uint8Array(b)));
      await writeFileAtomic(path.join(dir, WEIGHTS_FILE), bytes);
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: 'cnnviz',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
      };
      await writeFileAtomic(modelFile, JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
    }),
  );
  if (sidecar) await writeFileAtomic(path.join(dir, 'cnnviz.json'), `${JSON.stringify(sidecar, null, 2)}\n`);
  return modelFile;
}
