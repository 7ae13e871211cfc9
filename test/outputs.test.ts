// One rule for output paths, for every command: checked writable before the work starts,
// refused with exit 2 and a line naming the path as given; the folder an output goes into must
// exist (only a folder named as the output is created); default outputs go into the current folder.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../src/errors.js';
import { checkOutputWritable, writeFileAtomic } from '../src/image/io.js';
import { ROOT, runCli } from './helpers/cli.js';
import { stripesDataset } from './helpers/datasets.js';
import { tempDir } from './helpers/models.js';

const CAT = path.join(ROOT, 'examples/cat.jpg');

// Made when the file loads: the test tables below name paths in it.
const root = tempDir();
const file = path.join(root, 'file.txt');
writeFileSync(file, 'a file, not a folder');

function usageErrorOf(fn: () => void): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('checkOutputWritable', () => {
  test('writable files and folders pass, and the check leaves nothing behind', () => {
    const here = tempDir();
    checkOutputWritable(path.join(here, 'a.png'));
    checkOutputWritable(path.join(here, 'new-folder') + '/', 'folder');
    checkOutputWritable(here, 'folder');
    checkOutputWritable('-');
    checkOutputWritable('/dev/null');
    expect(readdirSync(here)).toEqual([]);
  });

  // Run as root, chmod cannot make a folder unwritable: these fail for root too.
  test.each([
    ['under a file', (): string => path.join(file, 'x.png'), 'file', /^cannot write .*file\.txt\/x\.png: .*file\.txt is a file, not a folder$/],
    ['in a folder that takes no new files', (): string => '/proc/x.png', 'file', /^cannot write \/proc\/x\.png: folder \/proc does not accept new files: no such file or folder \(ENOENT\)$/],
    ['in a missing folder', (): string => path.join(root, 'no/such/a.png'), 'file', /^cannot write .*\/no\/such\/a\.png: folder .*\/no\/such does not exist \(create it first/],
    ['a folder output whose parent is missing', (): string => path.join(root, 'no/such/'), 'folder', /^cannot write output folder .*\/no\/such\/: folder .*\/no does not exist/],
    ['a folder given as a file', (): string => root, 'file', /^output .* is a folder: give a file name inside it/],
    ['a file given as a folder', (): string => file, 'folder', /^output folder .*file\.txt is a file, not a folder/],
  ] as const)('%s is a usage error naming the path', (_, dest, kind, message) => {
    const err = usageErrorOf(() => checkOutputWritable(dest(), kind));
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/\.tmp/);
    expect(existsSync(path.join(root, 'no'))).toBe(false);
  });

  test('writeFileAtomic: a failed write names the target, never its temp file, and is a usage error', async () => {
    const err = await writeFileAtomic('/proc/x.png', 'bytes').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('cannot write /proc/x.png: no such file or folder (ENOENT)');
  });
});

describe('every command that writes refuses a bad output path at once (exit 2, one line naming it)', () => {
  let data: string;
  beforeAll(async () => {
    data = await stripesDataset(path.join(tempDir(), 'stripes'), 6);
  });

  // The dreams are 100000 steps and the training 500 epochs: checked after the work, these would run for many minutes.
  const cases: Array<[string, () => string[], string, RegExp]> = [
    ['dream -o', () => ['dream', '--steps', '100000', '-o', '/proc/x.png'], '/proc/x.png', /does not accept new files/],
    ['dream -o in a missing folder', () => ['dream', '--steps', '100000', '-o', path.join(root, 'missing/a.png')], path.join(root, 'missing/a.png'), /folder .*missing does not exist/],
    ['dream --out-dir', () => ['dream', '--steps', '100000', '--filters', '0-1', '-o', path.join(root, 'ok.png'), '--out-dir', path.join(file, 'd/')], path.join(file, 'd/'), /file\.txt is a file, not a folder/],
    ['dream --animation', () => ['dream', '--steps', '100000', '--frames', '1000', '-o', path.join(root, 'ok.png'), '--animation', '/proc/a.webp'], '/proc/a.webp', /does not accept new files/],
    ['activations -o folder/', () => ['activations', CAT, '--layer', 'all', '-o', '/proc/maps/'], '/proc/maps/', /does not accept new files/],
    ['activations -o file', () => ['activations', CAT, '-o', path.join(file, 'a.png')], path.join(file, 'a.png'), /file\.txt is a file, not a folder/],
    ['train -o', () => ['train', data, '--epochs', '500', '-o', '/proc/model'], '/proc/model', /does not accept new files/],
    ['train -o in a missing folder', () => ['train', data, '--epochs', '500', '-o', path.join(root, 'missing/model')], path.join(root, 'missing/model'), /folder .*missing does not exist/],
    ['kernels', () => ['kernels', '-o', '/proc/k.png'], '/proc/k.png', /does not accept new files/],
    ['convolve', () => ['convolve', CAT, '-o', path.join(root, 'missing/c.png')], path.join(root, 'missing/c.png'), /does not exist/],
    ['pool', () => ['pool', CAT, '-o', path.join(file, 'p.png')], path.join(file, 'p.png'), /file\.txt is a file, not a folder/],
    ['channels', () => ['channels', CAT, '-o', '/proc/c.png'], '/proc/c.png', /does not accept new files/],
    ['plot', () => ['plot', 'relu', '-o', '/proc/p.png'], '/proc/p.png', /does not accept new files/],
  ];
  test.concurrent.each(cases)('%s', async (_, args, given, why) => {
    const r = await runCli(args(), { cwd: root });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cnnviz: (cannot write|output)/);
    expect(lines[0]).toContain(given);
    expect(lines[0]).toMatch(why);
    expect(lines[0]).not.toMatch(/\.tmp/);
    expect(existsSync(path.join(root, 'missing'))).toBe(false);
    expect(existsSync(path.join(root, 'ok.png'))).toBe(false);
  }, 120_000);
});

describe('missing folders', () => {
  test("a folder named as the output is created; the folders above it are not", async () => {
    const here = tempDir();
    const made = await runCli(['activations', CAT, '--layer', '1-2', '-o', 'maps/'], { cwd: here });
    expect(made.code).toBe(0);
    expect(readdirSync(path.join(here, 'maps')).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^001_.*\.png$/), expect.stringMatching(/^002_.*\.png$/)]));
    const deep = await runCli(['activations', CAT, '--layer', '1-2', '-o', 'a/b/'], { cwd: here });
    expect(deep.code).toBe(2);
    expect(deep.stderr).toMatch(/cannot write output folder a\/b\/: folder a does not exist/);
    expect(existsSync(path.join(here, 'a'))).toBe(false);
  });
});

describe('default outputs go into the current folder, never beside the input', () => {
  test('every command that writes, run without -o', async () => {
    const cwd = tempDir();
    const photos = tempDir();
    const photo = path.join(photos, 'photo.jpg');
    copyFileSync(CAT, photo);
    const runs = await Promise.all([
      runCli(['activations', photo, '--layer', '1'], { cwd }),
      runCli(['channels', photo], { cwd }),
      runCli(['convolve', photo], { cwd }),
      runCli(['pool', photo], { cwd }),
      runCli(['kernels'], { cwd }),
      runCli(['plot', 'relu'], { cwd }),
      runCli(['dream', '--layer', '1', '--steps', '1', '--size', '16', '--seed', '1'], { cwd }),
    ]);
    for (const r of runs) expect(r.code).toBe(0);
    expect(readdirSync(photos)).toEqual(['photo.jpg']);
    const written = readdirSync(cwd).sort();
    const expected = [/^photo\..+\.png$/, /^photo\.channels\.png$/, /^photo\.sobel-x\.png$/, /^photo\.pool-max2\.png$/, /^kernels\..+\.png$/, /^plot-relu\.png$/, /^dream\..+\.png$/];
    for (const name of expected) expect(written.some((f) => name.test(f))).toBe(true);
    expect(written).toHaveLength(7);
    for (const f of written) expect((await sharp(path.join(cwd, f)).metadata()).format).toBe('png');
  }, 120_000);
});

test('mkdir is not needed for the check itself: a folder output that exists is fine', () => {
  const here = tempDir();
  mkdirSync(path.join(here, 'out'));
  checkOutputWritable(path.join(here, 'out/'), 'folder');
  expect(readdirSync(path.join(here, 'out'))).toEqual([]);
});
