import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.js';
import { UsageError } from '../src/errors.js';
import { bindObjective, describeObjective, shorthandExpression, type BindContext } from '../src/dream/objectives/bind.js';
import { readKey, type Objective, type ObjectiveEnv, type Read } from '../src/dream/objectives/objective.js';
import { constantValue, parseObjective, type ObjectiveNode } from '../src/dream/objectives/parse.js';
import { createProbe } from '../src/dream/probe.js';
import { DEFAULT_MODEL, loadModel, type LoadedModel } from '../src/model/load.js';

/** The UsageError message `fn` throws (fails the test when it throws nothing or something else). */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError, got none');
}

/** The tree without columns, for comparing shapes. */
function shape(node: ObjectiveNode): unknown {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'call':
      return [node.name, Object.fromEntries(Object.entries(node.args).map(([k, v]) => [k, v.kind === 'position' ? `${v.x}:${v.y}` : v.kind === 'number' ? v.value : v.text]))];
    case 'negate':
      return ['neg', shape(node.operand)];
    case 'binary':
      return [node.op, shape(node.left), shape(node.right)];
  }
}

describe('parseObjective', () => {
  test('* binds tighter than + and -, which group to the left', () => {
    expect(shape(parseObjective('tv + 2 * l1 - l2'))).toEqual(['-', ['+', ['tv', {}], ['*', 2, ['l1', {}]]], ['l2', {}]]);
    expect(shape(parseObjective('(tv + l1) * 2'))).toEqual(['*', ['+', ['tv', {}], ['l1', {}]], 2]);
    expect(shape(parseObjective('tv - l1 - l2'))).toEqual(['-', ['-', ['tv', {}], ['l1', {}]], ['l2', {}]]);
  });

  test('unary minus applies to the next factor; a product of numbers folds to one', () => {
    expect(shape(parseObjective('-tv'))).toEqual(['neg', ['tv', {}]]);
    expect(shape(parseObjective('--tv'))).toEqual(['neg', ['neg', ['tv', {}]]]);
    const p = parseObjective('-2 * 3 * tv') as ObjectiveNode & { kind: 'binary' };
    expect(constantValue(p.left)).toBe(-6);
    expect(shape(parseObjective('tv / 4'))).toEqual(['/', ['tv', {}], 4]);
  });

  test('numbers: integers, decimals, exponents', () => {
    for (const [text, value] of [['100', 100], ['0.5', 0.5], ['.25', 0.25], ['1e-3', 0.001], ['2.5E+2', 250]] as const) {
      const p = parseObjective(`${text} * tv`) as ObjectiveNode & { kind: 'binary' };
      expect(p.left).toMatchObject({ kind: 'number', value, text });
    }
  });

  test('arguments: positional, named, negative, quoted, x:y, unit; function names take - for _', () => {
    expect(shape(parseObjective("neuron('my layer', unit, at=3:4)"))).toEqual(['neuron', { layer: 'my layer', n: 'unit', at: '3:4' }]);
    expect(shape(parseObjective('channel(n=7, layer=base/conv_pw_7_relu)'))).toEqual(['channel', { n: 7, layer: 'base/conv_pw_7_relu' }]);
    expect(shape(parseObjective('deepdream(-1)'))).toEqual(['deepdream', { layer: -1 }]);
    expect(shape(parseObjective('channel-interpolate(1, 2, 3, 4)'))).toEqual(['channel_interpolate', { layerA: 1, a: 2, layerB: 3, b: 4 }]);
    expect(shape(parseObjective('tv()'))).toEqual(['tv', {}]);
    expect(shape(parseObjective('logit("Egyptian cat")'))).toEqual(['logit', { class: 'Egyptian cat' }]);
  });

  test.each([
    ['channel(25 7)', "bad --objective 'channel(25 7)': expected ',' or ')' at column 12"],
    ['channel(25, 7', "expected ',' or ')' at column 14"],
    ['chanel(25, 7)', "unknown objective function 'chanel' at column 1: did you mean channel"],
    ['tv - chanel(25, 7)', "unknown objective function 'chanel' at column 6"],
    ['tv-l1', "unknown objective function 'tv-l1' at column 1: to subtract, put spaces around '-'"],
    ['channel(1, 2) * channel(1, 3)', "'*' between two objectives at column 15"],
    ['tv / l1', "'/' by an objective at column 4"],
    ['channel(1, 2) + 1', "'+' between a number and an objective at column 15"],
    ['channel(1)', "missing argument 'n' at column 10: channel(layer, n)"],
    ['channel(1, 2, 3)', 'too many arguments at column 15: channel takes at most 2, got 3'],
    ['neuron(1, 2, where=3:3)', "unknown argument 'where' at column 14: neuron has no such argument: neuron(layer, n, at=centre)"],
    ['neuron(1, 2, at=3)', 'bad argument at=3 at column 17: at is a position x:y'],
    ['channel(1, 2.5)', 'bad argument n=2.5 at column 12'],
    ['tv @ 2', "unexpected '@' at column 4"],
    ["logit('cat", "unterminated ' quote at column 7"],
    ['3', 'a number alone at column 1'],
    ['tv tv', "expected '+', '-', '*', '/' or the end at column 4"],
    ['', 'expected a number, a function such as channel(layer, n), or'],
  ])('%j is a UsageError naming the column', (text, message) => {
    const got = usageMessage(() => parseObjective(text));
    expect(got).toContain(message);
    expect(got.startsWith(`bad --objective '${text}': `)).toBe(true);
    expect(got).not.toContain('\n');
  });
});

describe('binding on the bundled model', () => {
  let loaded: LoadedModel;
  const batch = 2;
  let pictures: tf.Tensor4D;
  const bind = (text: string, ctx: BindContext = {}) => bindObjective(loaded, parseObjective(text), ctx);
  const describeText = (text: string) => describeObjective(loaded, parseObjective(text));

  /** The objective's [B] values on a real forward pass of `pictures`. */
  function evaluate(o: Objective, x = pictures): number[] {
    return tf.tidy(() => {
      const outs = o.reads.length ? createProbe(loaded, o.reads).apply(x) : [];
      const keys = o.reads.map(readKey);
      const read = (r: Read) => outs[keys.indexOf(readKey(r))];
      const groups = Array.from({ length: x.shape[0] }, () => 0);
      const v = o.evaluate({ read, image: x, groups });
      expect(v.shape).toEqual([x.shape[0]]);
      return Array.from(v.dataSync());
    });
  }

  const env: ObjectiveEnv = { activations: (picture, r) => tf.tidy(() => createProbe(loaded, [r]).apply(picture)[0]) };

  beforeAll(async () => {
    await initBackend('wasm');
    loaded = await loadModel(DEFAULT_MODEL);
    pictures = tf.randomUniform([batch, 128, 128, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  });
  afterAll(() => pictures.dispose());

  test('every function binds, reads the layer it names, and evaluates to finite values per picture', () => {
    const photo = tf.randomUniform([1, 128, 128, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const cases: [string, (number | 'logits')[]][] = [
      ['channel(conv_pw_7_relu, 3)', [45]],
      ['neuron(base/conv_pw_11_relu, 5, at=3:3)', [69]],
      ['neuron(69, 5)', [69]],
      ['logit(dog)', ['logits']],
      ['logit(0)', ['logits']],
      ['direction(conv_pw_5_relu)', [33]],
      ['diversity(-3)', [81]],
      ['alignment(45, decay=3)', [45]],
      ['deepdream(conv_pw_3_relu)', [21]],
      ['tv', []],
      ['l1', []],
      ['l2(input, c=0.5)', []],
      ['l1(45, c=1)', [45]],
      ['caricature(45, cossim=1)', [45]],
    ];
    for (const [text, reads] of cases) {
      const o = bind(text, { env, photo, direction: Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1)) });
      expect(o.reads.map((r) => ('layer' in r ? r.layer : 'logits'))).toEqual(reads);
      const values = evaluate(o);
      expect(values).toHaveLength(batch);
      for (const v of values) expect(Number.isFinite(v)).toBe(true);
      o.dispose?.();
    }
    photo.dispose();
  });

  test('channel_interpolate renders its own row and reads both layers', () => {
    const o = bind('channel_interpolate(conv_pw_7_relu, 1, conv_pw_8_relu, 2, n=2)');
    expect(o.pictures).toBe(2);
    expect(o.reads).toEqual([{ layer: 45 }, { layer: 51 }]);
    // The first picture maximizes channel a alone, the last channel b alone.
    const [first, last] = evaluate(o);
    const a = evaluate(bind('channel(conv_pw_7_relu, 1)'));
    const b = evaluate(bind('channel(conv_pw_8_relu, 2)'));
    expect(first).toBeCloseTo(a[0], 4);
    expect(last).toBeCloseTo(b[1], 4);
  });

  test('a + b, a - b, k * a and -a evaluate to the parts combined', () => {
    const a = evaluate(bind('channel(conv_pw_7_relu, 3)'));
    const b = evaluate(bind('deepdream(conv_pw_5_relu)'));
    const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 4));
    close(evaluate(bind('channel(conv_pw_7_relu, 3) + deepdream(conv_pw_5_relu)')), a.map((v, i) => v + b[i]));
    close(evaluate(bind('channel(conv_pw_7_relu, 3) - 0.5 * deepdream(conv_pw_5_relu)')), a.map((v, i) => v - 0.5 * b[i]));
    close(evaluate(bind('-(channel(conv_pw_7_relu, 3) + deepdream(conv_pw_5_relu)) / 4')), a.map((v, i) => -(v + b[i]) / 4));
    for (const v of a) expect(Math.abs(v)).toBeGreaterThan(1e-4); // the sums above compare something
  });

  test('`unit` is filled per picture from the context', () => {
    const o = bind('channel(conv_pw_7_relu, unit)', { units: [3, 9] });
    const [three, nine] = evaluate(o);
    expect(three).toBeCloseTo(evaluate(bind('channel(conv_pw_7_relu, 3)'))[0], 5);
    expect(nine).toBeCloseTo(evaluate(bind('channel(conv_pw_7_relu, 9)'))[1], 5);
    expect(o.text).toBe('channel(base/conv_pw_7_relu, unit)');
  });

  test('describeObjective: unit use and count, layers read, text with layer names', () => {
    expect(describeText('channel(45, unit) - 1e-3 * tv')).toEqual({ usesUnit: true, unitCount: 128, layers: [45], text: 'channel(base/conv_pw_7_relu, unit) - 1e-3 * tv', notes: [], functions: ['channel', 'tv'] });
    expect(describeText('logit(unit)')).toMatchObject({ usesUnit: true, unitCount: 2, layers: [82] });
    expect(describeText('channel(conv_pw_7_relu, 3) + 0.5 * channel(conv_pw_11_relu, 9) - 100 * diversity(-1)')).toMatchObject({
      usesUnit: false,
      unitCount: undefined,
      layers: [45, 69, 83],
      text: 'channel(base/conv_pw_7_relu, 3) + 0.5 * channel(base/conv_pw_11_relu, 9) - 100 * diversity(head)',
    });
    expect(describeText('channel(45, 3) - 5 * diversity(45, keep=0.75)').text).toBe('channel(base/conv_pw_7_relu, 3) - 5 * diversity(base/conv_pw_7_relu, keep=0.75)');
    expect(describeText('-(tv + l1) * 2').text).toBe('-(tv + l1) * 2');
    expect(describeText('tv - (l1 + l2)').text).toBe('tv - (l1 + l2)');
    // A channel of a layer linear in the picture reads its uncapped activation (flat.ts), and says so.
    const flat = describeText('channel(conv1, 2)');
    expect(flat.notes[0]).toContain('relu(base/conv1_bn)');
    expect(bind('channel(conv1, 2)').reads).toEqual([{ layer: 2 }]);
  });

  test('the normalized text parses back to the same objective', () => {
    const text = describeText("neuron(conv_pw_11_relu, 5, at=3:3) - 1e-3 * tv + 2 * alignment('base/conv_pw_7_relu', decay=3) / 4").text;
    expect(describeText(text).text).toBe(text);
  });

  test('shorthandExpression: today flags as an expression over unit', () => {
    expect(shorthandExpression({ objective: 'channel', layer: 45 })).toBe('channel(45, unit)');
    expect(shorthandExpression({ objective: 'neuron', layer: 69, at: [3, 4], minimize: true })).toBe('-(neuron(69, unit, at=3:4))');
    expect(shorthandExpression({ objective: 'logit', layer: 83 })).toBe('logit(unit)');
    expect(describeText(shorthandExpression({ objective: 'neuron', layer: 69, at: [3, 4], minimize: true })).text).toBe('-neuron(base/conv_pw_11_relu, unit, at=3:4)');
  });

  test.each([
    ['channel(99, 1)', 'layer 99 out of range: model has 84 layers (0-83'],
    ['channel(-85, 1)', 'layer -85 out of range'],
    ['channel(conv_pw_7_relu, 300)', 'channel 300 out of range: layer base/conv_pw_7_relu has 128 channels (0-127)'],
    ['channel(45, 3) - diversity(45, keep=0.95)', 'diversity keep=0.95 out of range: a share of the best score in the picture\'s group, 0 (no guard) to 0.9'],
    ['channel_interpolate(45, 1, 81, 256)', 'channel 256 out of range: layer base/conv_pw_13_relu has 256 channels (0-255)'],
    ['neuron(conv_pw_7_relu, 1, at=14:2)', 'position 14:2 out of range: layer base/conv_pw_7_relu has a 14x14 grid'],
    ['neuron(gap, 1, at=0:0)', 'needs a layer with a grid, but gap has output [256]'],
    ['deepdream(conv_pw_7_rlu)', "unknown layer 'conv_pw_7_rlu': did you mean base/conv_pw_7_relu"],
    ['logit(horse)', "unknown class 'horse'"],
    ['logit(2)', 'class 2 out of range: the model has 2 classes (0-1)'],
    ['channel(45, unit) + channel(33, unit)', 'layer base/conv_pw_7_relu has 128 channels, layer base/conv_pw_5_relu has 64 channels'],
  ])('%j names the bad value and what is valid', (text, message) => {
    expect(usageMessage(() => describeText(text))).toContain(message);
    expect(usageMessage(() => bind(text, { units: [0] }))).toContain(message);
  });

  test('what the context lacks is a usage error before anything is built', () => {
    expect(usageMessage(() => bind('direction(45)'))).toBe('direction(...) needs --direction <file> or --direction-from a.jpg,b.jpg');
    expect(usageMessage(() => bind('direction(45)', { direction: [1, 2] }))).toContain('the direction has 2 numbers but layer base/conv_pw_7_relu has 128 channels');
    expect(usageMessage(() => bind('caricature(45)', { env }))).toBe('caricature(...) needs --from <photo>');
    expect(usageMessage(() => bind('channel(45, unit)'))).toContain("uses 'unit' but no units were given");
    expect(usageMessage(() => bind('channel(45, unit)', { units: [1, 128] }))).toBe('unit 128 out of range: layer base/conv_pw_7_relu has 128 channels (0-127)');
  });
});
