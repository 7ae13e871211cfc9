// Ctrl-C and SIGTERM at different moments of real cnnviz processes: the exit status the shell
// sees (130 / 143), only whole PNGs in the output folder, no temp files, and a terminal left as
// it was (checked under a pseudo-terminal with util-linux `script`, where Ctrl-C is a real ^C).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { MOBILENET, ROOT } from './helpers/cli.js';
import { stripesDataset } from './helpers/datasets.js';
import { tempDir } from './helpers/models.js';

const BIN = path.join(ROOT, 'bin/cnnviz.js');
const CAT = path.join(ROOT, 'examples/cat.jpg');
const ENV = { ...process.env, NO_COLOR: '1', CNNVIZ_BACKEND: 'wasm' };
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;
if (!HAS_SCRIPT) console.warn('skipping the pseudo-terminal tests: util-linux `script` is not installed');
const withPty = HAS_SCRIPT ? test : test.skip;
/** These start real processes on a shared machine: generous, since nothing here is a timing assertion. */
const SLOW = 120_000;

/** The exit status as a shell reports it: the code, or 128 + the number of the signal that ended the process. */
function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + os.constants.signals[signal!];
}

interface Ended {
  status: number;
  signal: NodeJS.Signals | null;
  output: string;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  /** stderr so far (stdout too, under a pseudo-terminal). */
  output(): string;
  ended: Promise<Ended>;
}

function start(command: string, args: string[], cwd: string): Running {
  const child = spawn(command, args, { cwd, env: ENV });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ended = new Promise<Ended>((resolve) => child.on('close', (code, signal) => resolve({ status: shellStatus(code, signal), signal, output })));
  return { child, output: () => output, ended };
}

const cnnviz = (args: string[], cwd: string) => start(process.execPath, [BIN, ...args], cwd);

/** cnnviz on a pseudo-terminal: stderr is a TTY, so progress bars are drawn; keys go in as typed. */
function cnnvizOnTerminal(args: string[], cwd: string): Running {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return start('script', ['-qec', quoted, '/dev/null'], cwd);
}

/** Resolves once `ready()` holds (checked as output arrives and every few ms); false if the process ended first. */
function when(run: Running, ready: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    let ended = false;
    void run.ended.then(() => (ended = true));
    const check = () => {
      if (ready()) return resolve(true);
      if (ended) return resolve(false);
      setTimeout(check, 2);
    };
    check();
  });
}

const wholeFilesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []);
const tempFilesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.') || f.endsWith('.tmp')) : []);

/** Every file in `dir` decodes as a whole PNG (sharp reads every pixel, failing on truncation). */
async function expectWholePngs(dir: string): Promise<string[]> {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  expect(tempFilesIn(dir)).toEqual([]);
  for (const f of files) {
    const { info } = await sharp(path.join(dir, f), { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBeGreaterThan(0);
    expect(path.extname(f)).toBe('.png');
  }
  return files;
}

describe('a temp file being written when a signal comes', () => {
  // A write of 128 MB is in progress for a while: long enough to be caught mid-way every time.
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: the temp file and the folder the write made are removed, and the process ends by the signal (%i)', async (signal, status) => {
    const root = tempDir();
    const script = path.join(root, 'write.mjs');
    const dist = (p: string) => pathToFileURL(path.join(ROOT, 'dist', p)).href;
    writeFileSync(
      script,
      `import { enableSignalCleanup } from '${dist('signal-cleanup.js')}';\n` +
        `import { writeFileAtomic } from '${dist('image/io.js')}';\n` +
        `enableSignalCleanup();\n` +
        `await writeFileAtomic(process.argv[2], Buffer.alloc(128 * 2 ** 20, 7));\n`,
    );
    const made = path.join(root, 'made');
    const run = start(process.execPath, [script, path.join(made, 'big.bin')], root);
    expect(await when(run, () => tempFilesIn(made).length > 0)).toBe(true);
    run.child.kill(signal);
    const end = await run.ended;
    expect(end.signal).toBe(signal);
    expect(end.status).toBe(status);
    expect(existsSync(made)).toBe(false);
    expect(readdirSync(root)).toEqual(['write.mjs']);
  }, SLOW);
});

describe('dream stopped by a signal', () => {
  const dream = ['dream', '--layer', '1', '--steps', '100000', '--size', '32'];

  test('SIGTERM at once: exit 143, nothing written', async () => {
    const out = tempDir();
    const run = cnnviz([...dream, '-o', 'a.png'], out);
    run.child.kill('SIGTERM');
    expect((await run.ended).status).toBe(143);
    expect(readdirSync(out)).toEqual([]);
  }, SLOW);

  test('SIGINT in the middle of the optimization: exit 130 without waiting for it, nothing written', async () => {
    const out = tempDir();
    // 100000 steps take many minutes: the test ends in time only if Ctrl-C is not held back until they are done.
    const run = cnnviz([...dream, '-o', 'a.png'], out);
    expect(await when(run, () => /seed \d+/.test(run.output()))).toBe(true);
    run.child.kill('SIGINT');
    expect((await run.ended).status).toBe(130);
    expect(readdirSync(out)).toEqual([]);
  }, SLOW);

  test.each(['SIGINT', 'SIGTERM'] as const)('%s while the PNGs are being written: only whole PNGs, no temp files', async (signal) => {
    const out = tempDir();
    const run = cnnviz(['dream', '--layer', 'base/conv_pw_1_relu', '--filters', '0-15', '--batch', '16', '--steps', '1', '--size', '128', '--seed', '1', '--out-dir', 'each/', '-o', 'sheet.png'], out);
    const each = path.join(out, 'each');
    expect(await when(run, () => wholeFilesIn(each).length > 0)).toBe(true);
    run.child.kill(signal);
    const end = await run.ended;
    // The signal may also land after the last write: then every file is there.
    const files = await expectWholePngs(each);
    if (end.status === 0) expect(files).toHaveLength(16);
    else expect(end.status).toBe(signal === 'SIGINT' ? 130 : 143);
  }, SLOW);

  withPty('Ctrl-C under a progress bar leaves the cursor and line wrapping as they were; exit 130', async () => {
    const out = tempDir();
    const run = cnnvizOnTerminal([...dream, '-o', 'a.png'], out);
    expect(await when(run, () => /step \d+\/100000/.test(run.output()))).toBe(true);
    run.child.stdin.write('\x03');
    const end = await run.ended;
    expect(end.status).toBe(130);
    const o = end.output;
    // Hidden cursor (?25l) or wrapping turned off (?7l) must be undone (?25h, ?7h) later in the output.
    expect(o.lastIndexOf('\x1b[?25h')).toBeGreaterThanOrEqual(o.lastIndexOf('\x1b[?25l'));
    expect(o.lastIndexOf('\x1b[?7h')).toBeGreaterThanOrEqual(o.lastIndexOf('\x1b[?7l'));
    expect(readdirSync(out)).toEqual([]);
  }, SLOW);
});

describe('activations --layer all stopped by a signal', () => {
  const model = existsSync(MOBILENET) ? ['-m', MOBILENET] : [];
  if (!model.length) console.warn(`activations signal tests use the bundled model: ${MOBILENET} is absent`);

  test('SIGTERM at once: exit 143, nothing written', async () => {
    const out = tempDir();
    const run = cnnviz(['activations', CAT, ...model, '--layer', 'all', '-o', 'maps/'], out);
    run.child.kill('SIGTERM');
    expect((await run.ended).status).toBe(143);
    expect(readdirSync(out)).toEqual([]);
  }, SLOW);

  test.each(['SIGINT', 'SIGTERM'] as const)('%s once the first PNGs are on disk: only whole PNGs, no temp files', async (signal) => {
    const out = tempDir();
    const run = cnnviz(['activations', CAT, ...model, '--layer', 'all', '--tile-size', '96', '-o', 'maps/'], out);
    const maps = path.join(out, 'maps');
    expect(await when(run, () => wholeFilesIn(maps).length > 0)).toBe(true);
    run.child.kill(signal);
    const end = await run.ended;
    const files = await expectWholePngs(maps);
    expect(files.length).toBeGreaterThan(0);
    if (end.status !== 0) expect(end.status).toBe(signal === 'SIGINT' ? 130 : 143);
  }, SLOW);
});

describe('train stopped by a signal', () => {
  let data: string;
  beforeAll(async () => {
    data = await stripesDataset(path.join(tempDir(), 'stripes'));
  });
  const train = (out: string) => ['train', data, '-o', out, '--arch', 'tiny', '--input-size', '16', '--epochs', '500', '--batch-size', '8', '--backend', 'wasm'];
  const sidecar = (out: string) => JSON.parse(readFileSync(path.join(out, 'cnnviz.json'), 'utf8'));

  test('SIGTERM while reading the dataset: exit 143, no output folder', async () => {
    const root = tempDir();
    const out = path.join(root, 'm');
    const run = cnnviz(train(out), root);
    expect(await when(run, () => /dataset .*stripes/.test(run.output()))).toBe(true);
    run.child.kill('SIGTERM');
    expect((await run.ended).status).toBe(143);
    expect(existsSync(out)).toBe(false);
  }, SLOW);

  test('SIGTERM after a checkpoint: exit 143, the checkpoint is whole and nothing else is there', async () => {
    const root = tempDir();
    const out = path.join(root, 'm');
    const run = cnnviz(train(out), root);
    expect(await when(run, () => /best, saved/.test(run.output()))).toBe(true);
    run.child.kill('SIGTERM');
    expect((await run.ended).status).toBe(143);
    expect(readdirSync(out).sort()).toEqual(['cnnviz.json', 'model.json', 'weights.bin']);
    const manifest = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')).weightsManifest[0].weights as Array<{ shape: number[] }>;
    const floats = manifest.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(statSync(path.join(out, 'weights.bin')).size).toBe(4 * floats);
    expect(sidecar(out).stoppedBy).toBe('still training (checkpoint)');
  }, SLOW);

  withPty('the first Ctrl-C stops after the current batch, on its own line under the bar, saves the best model and exits 130', async () => {
    const root = tempDir();
    const out = path.join(root, 'm');
    const run = cnnvizOnTerminal(train(out), root);
    // Epoch 2's bar is drawn: epoch 1 is saved and epoch 2 has begun.
    expect(await when(run, () => /epoch 2\/500 \S+ \d+\/12/.test(run.output()))).toBe(true);
    run.child.stdin.write('\x03');
    const end = await run.ended;
    expect(end.status).toBe(130);
    // The warning clears the bar's line instead of being glued to it.
    expect(end.output).toMatch(/\r\x1b\[2Kwarning: interrupted: finishing this batch/);
    expect(end.output).toMatch(/interrupted: saved the best model so far \(epoch 1\)/);
    // Epoch 2 was cut short, not run to its end (and its validation skipped): one epoch recorded.
    const s = sidecar(out);
    expect(s.stoppedBy).toBe('interrupted');
    expect(s.epochs).toBe(1);
    expect(tempFilesIn(out)).toEqual([]);
  }, SLOW);

  withPty('a second Ctrl-C quits without saving: exit 130, the last checkpoint untouched', async () => {
    const root = tempDir();
    const out = path.join(root, 'm');
    // Two slow batches an epoch (vgg, 128 px, 48 images: about a second or more each). Tensor work
    // is synchronous, so both Ctrl-Cs typed during one batch wait for its end together: the first
    // asks to save, and the second, right behind it, must quit before that save happens.
    const slow = [...train(out).slice(0, 4), '--arch', 'vgg', '--input-size', '128', '--epochs', '500', '--batch-size', '48', '--backend', 'wasm'];
    const run = cnnvizOnTerminal(slow, root);
    // Epoch 2's bar is drawn once its first batch is done (it may still read 0/2): the second is running.
    expect(await when(run, () => /epoch 2\/500 \S+ [01]\/2/.test(run.output()))).toBe(true);
    run.child.stdin.write('\x03');
    // Far enough apart that the kernel delivers them as two signals (a signal still pending when
    // its twin arrives merges with it), close enough to land in the same second-long batch.
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.stdin.write('\x03');
    const end = await run.ended;
    expect(end.status).toBe(130);
    expect(end.output).not.toMatch(/saved the best model so far/);
    expect(readdirSync(out).sort()).toEqual(['cnnviz.json', 'model.json', 'weights.bin']);
    // The checkpoint on disk is the last one training wrote before the Ctrl-Cs, whole.
    const saved = [...end.output.matchAll(/epoch (\d+)\/500 .*best, saved/g)].map((m) => Number(m[1]));
    expect(sidecar(out)).toMatchObject({ stoppedBy: 'still training (checkpoint)', epochs: saved[saved.length - 1] });
  }, SLOW);
});

// Keep the folder helpers honest: a leftover temp file is seen.
test('tempFilesIn sees a temp file', () => {
  const d = tempDir();
  mkdirSync(path.join(d, 'x'));
  writeFileSync(path.join(d, 'x', '.a.png.1.2.tmp'), '');
  expect(tempFilesIn(path.join(d, 'x'))).toEqual(['.a.png.1.2.tmp']);
});
