/**
 * The backend names, with no tfjs behind them: the CLI's shared options list them in every
 * command's --help, and importing select.ts for that would load tfjs into commands (and
 * `examples --index`) that never make a tensor.
 */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendRequest[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
