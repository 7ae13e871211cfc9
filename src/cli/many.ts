import { InputsFailed } from '../errors.js';
import { settleEach, type Settled } from '../settle.js';
import { ui } from './ui.js';

export { InputsFailed };

/**
 * The many-inputs rule (docs/ARCHITECTURE.md, "Many inputs"), written once for every command
 * that takes a list of inputs (`predict` now; `cam`, `index` later):
 *  - every good input gets its result, in input order, as soon as it is ready;
 *  - every bad input gets one line on stderr, `cnnviz: <input>: <reason>`, and the rest go on;
 *  - the exit code is 1 if any input failed, else 0;
 *  - with --json, stdout is JSON Lines: one object per input, `{<key>: input, ...result}` or
 *    `{<key>: input, error: reason}` for a failed one, so a pipeline sees every input.
 * Misuse of the whole command (a bad flag, a model that cannot do the job) is not an input's
 * failure: throw it before the first input, and it stays a usage error (exit 2).
 */
export interface EachInputReport<T> {
  /** The text line (without newline) printed on stdout for a good input. */
  line(value: T, input: string): string;
  /** The JSON Lines object's fields for a good input, beside the input itself. */
  json(value: T, input: string): Record<string, unknown>;
  /** The input's field name in JSON Lines objects, e.g. 'image'. */
  key: string;
  asJson: boolean;
}

/**
 * The error's message without the input's own name, which the line already starts with:
 * "image not found: a.jpg" → "image not found", "cannot decode a.jpg: …" → "cannot decode: …".
 */
export function failureReason(error: unknown, input: string): string {
  const message = String((error as Error)?.message ?? error).split('\n')[0];
  if (input === '-') return message;
  // The name as a word of its own: 'a' in "image not found: a", never the 'a' of "image".
  const named = new RegExp(`(^|:?\\s)${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[:\\s)])`);
  return message.replace(named, '').trim() || message;
}

/** Print each settled input as the rule says; resolves to the exit code (0, or 1 if any failed). */
export async function reportEach<T>(settled: AsyncIterable<Settled<T>> | Iterable<Settled<T>>, report: EachInputReport<T>): Promise<number> {
  let failed = 0;
  for await (const s of settled) {
    if (!s.ok) {
      failed++;
      const reason = failureReason(s.error, s.input);
      ui.error(`${s.input}: ${reason}`);
      if (ui.verbose && (s.error as Error)?.stack) process.stderr.write(`${(s.error as Error).stack}\n`);
      if (report.asJson) writeLine(JSON.stringify({ [report.key]: s.input, error: reason }));
    } else {
      writeLine(report.asJson ? JSON.stringify({ [report.key]: s.input, ...report.json(s.value, s.input) }) : report.line(s.value, s.input));
    }
  }
  return failed ? 1 : 0;
}

/** `job` over each input, reported by the rule above. Throws InputsFailed (exit 1) if any failed. */
export async function forEachInput<T>(inputs: readonly string[], job: (input: string) => Promise<T>, report: EachInputReport<T>): Promise<void> {
  await exitOnFailures(reportEach(settleEach(inputs, job), report));
}

/** Turn reportEach's exit code into the command's: InputsFailed, which main prints nothing for. */
export async function exitOnFailures(code: Promise<number>): Promise<void> {
  if ((await code) !== 0) throw new InputsFailed();
}

function writeLine(text: string): void {
  process.stdout.write(`${text}\n`);
}
