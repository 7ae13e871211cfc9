import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { describeObjective } from '../src/dream/objectives/bind.js';
import { parseObjective } from '../src/dream/objectives/parse.js';
import { logitTarget } from '../src/dream/target.js';
import { executeNodes } from '../src/model/graph.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { runCli } from './helpers/cli.js';
import { writeGraphModel, type GraphHead } from './helpers/graph-fixture.js';
import { tempDir } from './helpers/models.js';

// The graph fixture: gray 8x8 -> Conv2D/BiasAdd/Relu -> MaxPool -> Mean (the logits) -> Softmax 'probs'.
let dir: string;
let withHead: string;
let headless: string;
let loaded: LoadedModel;
const write = (head: GraphHead) => writeGraphModel(path.join(dir, head), { head });
/** The class scores a logit objective reads, and how many classes `logit(unit)` offers. */
const logitsOf = (m: LoadedModel) => {
  const units = describeObjective(m, parseObjective('logit(unit)')).unitCount;
  return { target: logitTarget(m), units };
};

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('cnnviz-dream-graph-');
  withHead = write('softmax');
  headless = write('none');
  loaded = await loadModel(withHead);
});

describe('--objective logit on a graph model', () => {
  test('walks back from the Softmax output to the node that computes the scores', () => {
    const { target, units } = logitsOf(loaded);
    expect(target.name).toBe('logits of head/Mean');
    expect(units).toBe(2);
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const z = target.apply(x);
    const mean = executeNodes(loaded.graphModel!, x, ['head/Mean'])[0];
    const probs = loaded.model.predict(x) as tf.Tensor;
    expect(z.shape).toEqual([2, 2]);
    expect(z.sub(mean).abs().max().dataSync()[0]).toBe(0);
    // softmax of the scores is the model's output: they are its logits.
    expect(tf.softmax(z).sub(probs).abs().max().dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, z, mean, probs]);
  });

  test('a 1x1-conv-like head: walks back over Identity, Reshape and Softmax, and flattens [B, 1, 1, n] scores', async () => {
    const m = await loadModel(write('reshape'));
    const { target, units } = logitsOf(m);
    expect([target.name, units]).toEqual(['logits of head/Mean', 2]);
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
    const z = target.apply(x);
    const probs = m.model.predict(x) as tf.Tensor;
    expect(z.shape).toEqual([3, 2]);
    expect(tf.softmax(z).sub(probs).abs().max().dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, z, probs]);
  });

  test('a one-unit sigmoid graph gives two class scores, -z for class 0 and z for class 1', async () => {
    const m = await loadModel(write('sigmoid'));
    const { target, units } = logitsOf(m);
    expect([target.name, units]).toEqual(['logits of unit/MatMul', 2]);
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const scores = target.apply(x);
    const p = (m.model.predict(x) as tf.Tensor).reshape([2]);
    const want = tf.stack([tf.scalar(1).sub(p), p], 1);
    expect(tf.sigmoid(scores).sub(want).abs().max().dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, scores, p, want]);
  });

  test('a sigmoid fused into the last op leaves no pre-sigmoid node: refused, naming the node', async () => {
    const m = await loadModel(write('fused-sigmoid'));
    expect(() => logitsOf(m)).toThrow(/node 'p' \(_FusedMatMul\) has its Sigmoid fused in.*use --layer -1 --filter N/);
  });

  test('the logits have a gradient: a short dream raises its class score from the grey start', async () => {
    const out = path.join(dir, 'logit.png');
    const r = await runCli(['dream', '-m', withHead, '--objective', 'logit', '--class', 'horizontal', '--steps', '8', '--seed', '1', '-o', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString());
    expect(json.target).toBe('logits of head/Mean');
    expect(json.filters[0].filter).toBe(1);
    expect(json.filters[0].objective).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
  });

  test('a graph without class scores is refused with the flags that do work', async () => {
    const headlessModel = await loadModel(headless);
    expect(() => logitsOf(headlessModel)).toThrow(/node 'pool\/MaxPool' \(MaxPool\) outputs \[4, 4, 2\], not a vector of class scores.*use --layer -1 --filter N/);
    const out = path.join(dir, 'never.png');
    const r = await runCli(['dream', '-m', headless, '--objective', 'logit', '--class', '0', '--steps', '2', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--objective logit: .*use --layer -1 --filter N/);
    expect(existsSync(out)).toBe(false);
  });
});
