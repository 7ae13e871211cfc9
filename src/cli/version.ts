import { createRequire } from 'node:module';

/**
 * The package's version, from package.json (two folders up from both src/cli/ and dist/cli/),
 * so `--version` can never disagree with what npm installed. This module imports nothing
 * heavier than node:module: the launcher answers `cnnviz --version` from it alone, before
 * commander and the command table load.
 */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Whether the arguments (after node and the script) ask only for the version, as commander's `-V, --version` does. */
export const asksOnlyVersion = (args: readonly string[]): boolean => args.length === 1 && (args[0] === '--version' || args[0] === '-V');
