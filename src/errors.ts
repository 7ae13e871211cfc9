/**
 * Two kinds of failure, told apart by exit code: a UsageError is the caller's to fix
 * (bad flag, bad index, missing file they named: exit 2); a RuntimeError is something
 * that went wrong while doing valid work (corrupt shard, NaN loss: exit 1).
 * Messages are one line and name the bad value and what would be valid.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class RuntimeError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** Some inputs of a many-input command failed; each already said why on its own line (exit 1). */
export class InputsFailed extends Error {
  readonly exitCode = 1;
  constructor() {
    super('some inputs failed (each said why on its own line)');
    this.name = 'InputsFailed';
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof RuntimeError) return err.exitCode;
  // Commander reports its own usage problems with an exitCode already set.
  const code = (err as { exitCode?: unknown })?.exitCode;
  return typeof code === 'number' && code > 0 ? code : 1;
}

/**
 * The first line of a third-party error's message, cut to `max` characters: a corrupt file can
 * make tfjs quote a 10,000-character value back, and an error stays one readable line.
 */
export function reasonOf(err: unknown, max = 160): string {
  const line = String((err as Error)?.message ?? err).split('\n')[0].trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
