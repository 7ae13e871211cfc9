import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { imageInputs, modelInputs, type FuzzCase } from './helpers/fuzz-corpus.js';
import { batches, memoryHogs, runBatch, violations, type BatchReport } from './helpers/fuzz-harness.js';
import { edgeModel, saveModelTo, tempDir } from './helpers/models.js';

/**
 * Damaged images and model files through `layers`, `activations` and `predict`: each must end
 * in a success or in one clean error line (exit 1 or 2), never a crash, a stack trace, a
 * left-over file or more than 2 GB. `npm run fuzz` runs the same with more seeds and inputs
 * (FUZZ_SEEDS, FUZZ_SCALE).
 */
const SEEDS = (process.env.FUZZ_SEEDS ?? '1').split(',').map(Number);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const PEAK_LIMIT = 2 * 1024 ** 3;
/** The machine's two cores: one process each. */
const PROCESSES = 2;

const TIMEOUT = 15 * 60_000 * SCALE;

describe.each(SEEDS)('fuzzed inputs, seed %i', (seed) => {
  let work: string;
  let outDir: string;
  let cases: FuzzCase[];
  let inputCount: number;
  let reports: BatchReport[];

  beforeAll(async () => {
    work = tempDir('cnnviz-fuzz-');
    outDir = path.join(work, 'out');
    mkdirSync(outDir);
    const model = await saveModelTo(edgeModel(), path.join(work, 'edge-model'));
    const photo = path.join(work, 'good.png');
    await sharp({ create: { width: 20, height: 14, channels: 3, background: { r: 90, g: 160, b: 30 } } }).png().toFile(photo);
    const images = await imageInputs(path.join(work, 'images'), { seed, scale: SCALE });
    const models = await modelInputs(path.join(work, 'models'), { seed, scale: SCALE });
    inputCount = images.length + models.length;
    cases = [];
    const add = (what: string, argv: string[], output?: string) => cases.push({ id: `c${cases.length}`, what, argv, output });
    images.forEach(({ file, what }, i) => {
      const out = path.join(outDir, `image-${i}.png`);
      add(what, ['activations', file, '-m', model, '--layer', '1', '-o', out], out);
      add(what, ['predict', file, '-m', model]);
    });
    models.forEach(({ file, what }, i) => {
      const out = path.join(outDir, `model-${i}.png`);
      add(what, ['layers', '-m', file]);
      add(what, ['activations', photo, '-m', file, '--layer', '-1', '-o', out], out);
      add(what, ['predict', photo, '-m', file]);
    });
    reports = await Promise.all(batches(cases, PROCESSES).map((b, i) => runBatch(b, work, `batch${i}`, TIMEOUT - 60_000)));
    // Every outcome, for reading what the messages say (the corpus folder is kept for re-running a case).
    const lines = reports.flatMap((r) => r.outcomes).map((o) => [o.fuzzCase.id, o.code ?? 'died', o.fuzzCase.what, o.fuzzCase.argv.join(' '), o.stderr.replace(/\n/g, '\\n')].join('\t'));
    writeFileSync(path.join(work, 'report.tsv'), `${lines.join('\n')}\n`);
  }, TIMEOUT);

  // npm test leaves nothing behind; npm run fuzz (FUZZ_SEEDS set) keeps each corpus and its report.tsv.
  afterAll(() => {
    if (process.env.FUZZ_SEEDS === undefined && work) rmSync(work, { recursive: true, force: true });
  });

  test('the corpus has at least 300 inputs of every kind', () => {
    expect(inputCount).toBeGreaterThanOrEqual(300);
    const kinds = ['png', 'jpg', 'webp', 'gif', 'tif', 'layers model.json', 'weight shard', '.h5', '.keras', 'graph model.json'];
    for (const k of kinds) expect(cases.some((c) => c.what.includes(k))).toBe(true);
  });

  test('every input ends in a success or one error line with exit 1 or 2, and leaves no file behind', () => {
    const outcomes = reports.flatMap((r) => r.outcomes);
    expect(reports.map((r) => r.died).filter(Boolean)).toEqual([]);
    expect(violations(outcomes, outDir)).toEqual([]);
    // Not everything may succeed: the corpus really is damaged (an empty file, a lying header).
    expect(outcomes.filter((o) => o.code === 2).length).toBeGreaterThan(cases.length / 4);
  });

  test('no batch of cases went over 2 GB resident memory', () => {
    for (const r of reports) {
      expect(r.maxRssBytes).toBeDefined();
      // The case that pushed a process's peak over the limit is named, not just the batch.
      expect(memoryHogs(r.outcomes, PEAK_LIMIT)).toEqual([]);
      expect(r.maxRssBytes!).toBeLessThan(PEAK_LIMIT);
    }
  });
});
