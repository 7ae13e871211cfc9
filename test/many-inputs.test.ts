import { jest } from '@jest/globals';
import { UsageError } from '../src/errors.js';
import { failureReason, forEachInput, InputsFailed, reportEach, type EachInputReport } from '../src/cli/many.js';
import { settleEach, type Settled } from '../src/settle.js';

/** A job whose inputs named "bad…" fail the way a missing file does. */
const job = async (input: string) => {
  if (input.startsWith('bad')) throw new UsageError(`image not found: ${input}`);
  return input.length;
};

const report = (asJson: boolean): EachInputReport<number> => ({
  key: 'image',
  asJson,
  line: (n, input) => `${input}: ${n}`,
  json: (n) => ({ length: n }),
});

describe('settleEach', () => {
  test('runs every input in order and keeps each failure instead of stopping at the first', async () => {
    const seen: Settled<number>[] = [];
    for await (const s of settleEach(['a', 'bad1', 'ccc', 'bad2'], job)) seen.push(s);
    expect(seen.map((s) => (s.ok ? s.value : (s.error as Error).message))).toEqual([1, 'image not found: bad1', 3, 'image not found: bad2']);
  });
});

describe('failureReason', () => {
  test.each([
    ['image not found: photos/a.jpg', 'photos/a.jpg', 'image not found'],
    ['cannot decode photos/a.jpg: not an image sharp can read', 'photos/a.jpg', 'cannot decode: not an image sharp can read'],
    ['cannot read image x.png: EACCES', 'x.png', 'cannot read image: EACCES'],
    ['Input Buffer is empty', 'x.png', 'Input Buffer is empty'],
    ['image not found: a', 'a', 'image not found'],
    ['cannot decode a (bad header)', 'a', 'cannot decode (bad header)'],
    ['cannot read image x(1).png: EIO', 'x(1).png', 'cannot read image: EIO'],
    ["no image data on standard input (the image was given as '-')", '-', "no image data on standard input (the image was given as '-')"],
    ['first line\nsecond line', 'x.png', 'first line'],
  ])('%s (input %s) → %s', (message, input, reason) => {
    expect(failureReason(new Error(message), input)).toBe(reason);
  });
});

describe('reportEach and forEachInput: the many-inputs rule', () => {
  test('text: a stdout line per good input, one stderr line per bad one, exit code 1', async () => {
    let stdout = '';
    let stderr = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: unknown) => ((stdout += String(c)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: unknown) => ((stderr += String(c)), true));
    let code: number;
    try {
      code = await reportEach(settleEach(['a', 'bad.jpg', 'ccc'], job), report(false));
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(1);
    expect(stdout).toBe('a: 1\nccc: 3\n');
    expect(stderr.replace(/\x1b\[[0-9;]*m/g, '')).toBe('cnnviz: bad.jpg: image not found\n');
  });

  test('--json: JSON Lines, one object per input, {image, error} for a bad one; exit 0 when all are good', async () => {
    let stdout = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: unknown) => ((stdout += String(c)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let codes: number[];
    try {
      codes = [await reportEach(settleEach(['bad.png', 'ab'], job), report(true)), await reportEach(settleEach(['xyz'], job), report(true))];
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(codes).toEqual([1, 0]);
    expect(stdout.split('\n')).toEqual(['{"image":"bad.png","error":"image not found"}', '{"image":"ab","length":2}', '{"image":"xyz","length":3}', '']);
  });

  test('forEachInput throws InputsFailed (exit 1, nothing more to print) only when an input failed', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(forEachInput(['a', 'b'], job, report(false))).resolves.toBeUndefined();
      const failure = await forEachInput(['a', 'bad'], job, report(false)).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(InputsFailed);
      expect((failure as InputsFailed).exitCode).toBe(1);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
