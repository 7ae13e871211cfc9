/**
 * One input's result or its failure. A command over many inputs carries each input to the end
 * this way, so that one bad file costs only its own result (see docs/ARCHITECTURE.md,
 * "Many inputs").
 */
export type Settled<T> = { input: string; ok: true; value: T } | { input: string; ok: false; error: unknown };

/** Run `job` on each input in turn, in order, catching each input's failure instead of stopping. */
export async function* settleEach<T>(inputs: readonly string[], job: (input: string) => Promise<T>): AsyncGenerator<Settled<T>> {
  for (const input of inputs) {
    let settled: Settled<T>;
    try {
      settled = { input, ok: true, value: await job(input) };
    } catch (error) {
      settled = { input, ok: false, error };
    }
    yield settled;
  }
}
