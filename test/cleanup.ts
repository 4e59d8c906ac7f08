// Set-up and tear-down that cannot leave anything running: a test file's
// `after` runs after a failed or partial `before` too, so every step there
// must cope with handles that were never made, and one failing step must not
// skip the rest (a server left open keeps the test process alive forever).

type Step = (() => unknown) | undefined | null | false | '' | 0;

/**
 * Runs every step in order, each even when one before it failed; a missing
 * step (an undefined handle: `srv && (() => srv.close())`) is skipped.
 * Throws the first error at the end.
 */
export async function closeAll(...steps: Step[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    if (!step) continue;
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} clean-up steps failed: ${errors.map(String).join('; ')}`);
}

/**
 * Promise.all that waits for every promise (so that nothing is still
 * starting when `after` runs) and then throws the first rejection.
 */
export async function settle<T extends readonly unknown[]>(promises: readonly [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * A stack of clean-up steps for a fixture that starts several things: each
 * is registered as soon as it exists, and `close` undoes them last first.
 * If the set-up throws, `fail` closes what was started and rethrows.
 */
export class Teardown {
  private readonly steps: Array<() => unknown> = [];

  /** Registers `close(value)` for a started thing and returns the thing. */
  async add<T>(started: Promise<T> | T, close: (v: T) => unknown): Promise<T> {
    const v = await started;
    this.steps.push(() => close(v));
    return v;
  }

  /** Registers a plain step. */
  defer(step: () => unknown): void {
    this.steps.push(step);
  }

  async close(): Promise<void> {
    await closeAll(...this.steps.splice(0).reverse());
  }

  /** For a set-up's catch: closes what was started (reporting, not throwing, its errors) and rethrows `err`. */
  async fail(err: unknown): Promise<never> {
    await this.close().catch((e: Error) => process.stderr.write(`# clean-up after a failed set-up: ${e.message}\n`));
    throw err;
  }
}
