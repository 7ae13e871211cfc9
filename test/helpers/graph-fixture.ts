import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VERTICAL_EDGE } from './models.js';

/**
 * A tiny TF.js graph model written the way tensorflowjs_converter writes one (model.json
 * with a GraphDef + one weight shard): a gray 8×8 input, Conv2D (3×3, SAME) with filter 0 a
 * vertical-edge detector and filter 1 its horizontal twin, BiasAdd, Relu, MaxPool 2×2, a
 * spatial Mean and a Softmax over the two channels (other heads: see GraphHead).
 */
export const GRAPH_BIAS = [0.25, -0.5];

export function graphKernel(): Float32Array {
  const k = new Float32Array(3 * 3 * 1 * 2);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      k[(y * 3 + x) * 2 + 0] = VERTICAL_EDGE[y][x];
      k[(y * 3 + x) * 2 + 1] = VERTICAL_EDGE[x][y];
    }
  }
  return k;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dims = (shape: number[]) => ({ dim: shape.map((size) => ({ size: String(size) })) });
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const float = { type: 'DT_FLOAT' };

function constNode(name: string, shape: number[], dtype = 'DT_FLOAT') {
  return { name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: dims(shape) } }, dtype: { type: dtype } } };
}

/**
 * Heads for the graph (after the MaxPool), as converted models end:
 * - 'softmax' (default): Mean (the logits, [B, 2]) -> Softmax 'probs';
 * - 'reshape': Mean with keep_dims ([B, 1, 1, 2], as a 1x1-conv head) -> Softmax -> Reshape -> Identity;
 * - 'sigmoid': Mean -> MatMul by [1, -1] (one logit z = vertical - horizontal) -> Sigmoid;
 * - 'fused-sigmoid': the same with the sigmoid fused into a _FusedMatMul (no pre-sigmoid node);
 * - 'none': ends at the MaxPool (a feature extractor: no class scores at all).
 */
export type GraphHead = 'softmax' | 'reshape' | 'sigmoid' | 'fused-sigmoid' | 'none';

interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
  attr: Record<string, unknown>;
}

export function writeGraphModel(dir: string, opts: { withFormat?: boolean; anySize?: boolean; head?: GraphHead } = {}): string {
  mkdirSync(dir, { recursive: true });
  const head = opts.head ?? 'softmax';
  const nodes: GraphDefNode[] = [
    { name: 'image', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(opts.anySize ? [-1, -1, -1, 1] : [-1, 8, 8, 1]) } } },
    constNode('edges/kernel', [3, 3, 1, 2]),
    constNode('edges/bias', [2]),
    {
      name: 'edges/Conv2D',
      op: 'Conv2D',
      input: ['image', 'edges/kernel'],
      attr: { T: float, strides: ints([1, 1, 1, 1]), dilations: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, use_cudnn_on_gpu: { b: true }, explicit_paddings: { list: {} } },
    },
    { name: 'edges/BiasAdd', op: 'BiasAdd', input: ['edges/Conv2D', 'edges/bias'], attr: { T: float, data_format: { s: b64('NHWC') } } },
    { name: 'edges/Relu', op: 'Relu', input: ['edges/BiasAdd'], attr: { T: float } },
    { name: 'pool/MaxPool', op: 'MaxPool', input: ['edges/Relu'], attr: { T: float, ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } } },
  ];
  const manifest: { name: string; shape: number[]; dtype: string }[] = [
    { name: 'edges/kernel', shape: [3, 3, 1, 2], dtype: 'float32' },
    { name: 'edges/bias', shape: [2], dtype: 'float32' },
  ];
  const data: Buffer[] = [Buffer.from(graphKernel().buffer), Buffer.from(Float32Array.from(GRAPH_BIAS).buffer)];
  const addConst = (name: string, values: Float32Array | Int32Array) => {
    const int = values instanceof Int32Array;
    nodes.push(constNode(name, [values.length], int ? 'DT_INT32' : 'DT_FLOAT'));
    manifest.push({ name, shape: [values.length], dtype: int ? 'int32' : 'float32' });
    data.push(Buffer.from(values.buffer));
  };
  const mean = (keepDims: boolean) => ({ name: 'head/Mean', op: 'Mean', input: ['pool/MaxPool', 'head/axes'], attr: { T: float, Tidx: { type: 'DT_INT32' }, keep_dims: { b: keepDims } } });
  if (head !== 'none') addConst('head/axes', Int32Array.of(1, 2));
  if (head === 'softmax') nodes.push(mean(false), { name: 'probs', op: 'Softmax', input: ['head/Mean'], attr: { T: float } });
  if (head === 'reshape') {
    addConst('head/shape', Int32Array.of(-1, 2));
    nodes.push(
      mean(true),
      { name: 'head/Softmax', op: 'Softmax', input: ['head/Mean'], attr: { T: float } },
      { name: 'head/Reshape', op: 'Reshape', input: ['head/Softmax', 'head/shape'], attr: { T: float, Tshape: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Identity', input: ['head/Reshape'], attr: { T: float } },
    );
  }
  if (head === 'sigmoid' || head === 'fused-sigmoid') {
    nodes.push(mean(false));
    nodes.push(constNode('unit/kernel', [2, 1]));
    manifest.push({ name: 'unit/kernel', shape: [2, 1], dtype: 'float32' });
    data.push(Buffer.from(Float32Array.of(1, -1).buffer));
    const matmul = { transpose_a: { b: false }, transpose_b: { b: false }, T: float };
    if (head === 'sigmoid') {
      nodes.push({ name: 'unit/MatMul', op: 'MatMul', input: ['head/Mean', 'unit/kernel'], attr: matmul }, { name: 'p', op: 'Sigmoid', input: ['unit/MatMul'], attr: { T: float } });
    } else {
      addConst('unit/bias', Float32Array.of(0));
      nodes.push({
        name: 'p',
        op: '_FusedMatMul',
        input: ['head/Mean', 'unit/kernel', 'unit/bias'],
        attr: { ...matmul, num_args: { i: '1' }, epsilon: { f: 0 }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Sigmoid')] } } },
      });
    }
  }
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat(data));
  const json: Record<string, unknown> = {
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1395 } },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: manifest }],
  };
  if (opts.withFormat !== false) json.format = 'graph-model';
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'labels.txt'), 'vertical\nhorizontal\n');
  return path.join(dir, 'model.json');
}

/** The depthwise model's weights, in the order written: what `kernels` must show back. */
export const DEPTHWISE_WEIGHTS = {
  /** [3, 3, 3, 1]: channel c's 3×3 filter is (c + 1) × (y*3 + x - 4) / 4. */
  depthwise: Float32Array.from({ length: 27 }, (_, i) => ((i % 3) + 1) * (Math.floor(i / 3) - 4) / 4),
  /** [1, 1, 3, 4]: the pointwise conv with a batch norm folded in, filter f = (f + 1) × [1, -1, 0.5]. */
  pointwise: Float32Array.from({ length: 12 }, (_, i) => (((i % 4) + 1) * [1, -1, 0.5][Math.floor(i / 4)])),
  bias: Float32Array.of(0.1, -0.2, 0.3, -0.4),
};

/**
 * A graph model shaped like tensorflowjs_converter's MobileNet: an RGB 8×8 input, a
 * DepthwiseConv2dNative 3×3, a _FusedConv2D 1×1 with its batch norm folded into the filter
 * and bias (fused_ops BiasAdd, Relu), a keep-dims Mean giving [1, 1, 1, 4] and a Softmax
 * over it: the [1, 1, N] head graph classifiers end in.
 */
export function writeDepthwiseGraphModel(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const conv = { T: float, strides: ints([1, 1, 1, 1]), dilations: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, explicit_paddings: { list: {} } };
  const nodes = [
    { name: 'image', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims([-1, 8, 8, 3]) } } },
    constNode('block/depthwise_weights', [3, 3, 3, 1]),
    constNode('block/pointwise_weights', [1, 1, 3, 4]),
    constNode('block/pointwise_bn_offset', [4]),
    constNode('head/axes', [2], 'DT_INT32'),
    { name: 'block/depthwise', op: 'DepthwiseConv2dNative', input: ['image', 'block/depthwise_weights'], attr: conv },
    {
      name: 'block/pointwise',
      op: '_FusedConv2D',
      input: ['block/depthwise', 'block/pointwise_weights', 'block/pointwise_bn_offset'],
      attr: { ...conv, use_cudnn_on_gpu: { b: true }, num_args: { i: '1' }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, epsilon: { f: 0 } },
    },
    { name: 'head/Mean', op: 'Mean', input: ['block/pointwise', 'head/axes'], attr: { T: float, Tidx: { type: 'DT_INT32' }, keep_dims: { b: true } } },
    { name: 'probs', op: 'Softmax', input: ['head/Mean'], attr: { T: float } },
  ];
  const w = DEPTHWISE_WEIGHTS;
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat([w.depthwise, w.pointwise, w.bias].map((a) => Buffer.from(a.buffer)).concat(Buffer.from(Int32Array.of(1, 2).buffer))));
  const json = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1395 } },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'block/depthwise_weights', shape: [3, 3, 3, 1], dtype: 'float32' },
          { name: 'block/pointwise_weights', shape: [1, 1, 3, 4], dtype: 'float32' },
          { name: 'block/pointwise_bn_offset', shape: [4], dtype: 'float32' },
          { name: 'head/axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  return path.join(dir, 'model.json');
}
