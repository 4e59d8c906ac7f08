/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the
 * results in input order. All items run even when some fail; failures are
 * returned as `{ error }` so the caller can report every one of them.
 */
export async function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<Array<{ value: R; error?: undefined } | { value?: undefined; error: unknown }>> {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { value: await fn(items[i]!, i) };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
