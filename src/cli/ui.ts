import chalk from 'chalk';
import cliProgress from 'cli-progress';

// chalk follows FORCE_COLOR and the terminal; the NO_COLOR convention needs saying explicitly.
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') chalk.level = 0;

/** Bars being drawn: a message clears the bar's line first, and the bar redraws below it. */
const drawing = new Set<cliProgress.SingleBar>();

function line(text: string): void {
  process.stderr.write(drawing.size ? `\r\x1b[2K${text}\n` : `${text}\n`);
}

/** Everything that isn't the command's data goes to stderr, so stdout stays pipeable. */
export const ui = {
  verbose: false,
  info(msg: string): void {
    line(msg);
  },
  debug(msg: string): void {
    if (this.verbose) line(chalk.dim(msg));
  },
  warn(msg: string): void {
    line(`${chalk.yellow('warning:')} ${msg}`);
  },
  error(msg: string): void {
    line(`${chalk.red('cnnviz:')} ${msg}`);
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

/**
 * A progress bar on stderr, only when a person is watching (stderr is a TTY). The cursor stays
 * visible: a bar that hid it could not show it again if Ctrl-C ends the process in the middle
 * of synchronous tensor work, where no JavaScript (no signal handler) gets to run.
 */
export function progressBar(total: number, format: string, payload: Record<string, unknown> = {}): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: false, linewrap: true, clearOnComplete: false, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  drawing.add(bar);
  return {
    update: (value, p) => bar.update(value, p),
    stop: () => {
      if (drawing.delete(bar)) bar.stop();
    },
  };
}
