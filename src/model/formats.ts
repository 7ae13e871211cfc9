import { loadGraphModelFile } from './graph.js';
import { loadKerasFile } from './keras/load.js';
import { registerModelFormat } from './load.js';

/**
 * The file kinds cnnviz opens besides TF.js layers models. `loadModel` imports this module
 * before its first lookup (h5wasm itself loads only when a Keras file is opened).
 */
for (const ext of ['.h5', '.hdf5', '.keras']) registerModelFormat(ext, loadKerasFile);
registerModelFormat('graph-model', loadGraphModelFile);
