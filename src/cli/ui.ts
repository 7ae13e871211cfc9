import chalk from 'chalk';
import cliProgress from 'cli-progress';

// chalk follows FORCE_COLOR and the terminal; the NO_COLOR convention needs saying explicitly.
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') chalk.level = 0;

/** Everything that isn't the command's data goes to stderr, so stdout stays pipeable. */
export const ui = {
  verbose: false,
  info(msg: string): void {
    process.stderr.write(`${msg}\n`);
  },
  debug(msg: string): void {
    if (this.verbose) process.stderr.write(`${chalk.dim(msg)}\n`);
  },
  warn(msg: string): void {
    process.stderr.write(`${chalk.yellow('warning:')} ${msg}\n`);
  },
  error(msg: string): void {
    process.stderr.write(`${chalk.red('cnnviz:')} ${msg}\n`);
  },
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
  bold: (s: string) => chalk.bold(s),
  dim: (s: string) => chalk.dim(s),
  accent: (s: string) => chalk.cyan(s),
};

export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

/** A progress bar on stderr, only when a person is watching (stderr is a TTY). */
export function progressBar(total: number, format: string, payload: Record<string, unknown> = {}): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return {
    update: (value, p) => bar.update(value, p),
    stop: () => bar.stop(),
  };
}
