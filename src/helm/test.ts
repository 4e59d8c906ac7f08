import { helmDuration, type HelmCli, type HelmTarget } from './cli.ts';

export interface TestRequest {
  target: HelmTarget;
  name: string;
  namespace: string;
  timeoutMs: number;
  /** Flux's test.filters: names to run (exclude false) or skip (exclude true). */
  filters?: Array<{ name: string; exclude?: boolean }>;
  signal?: AbortSignal;
}

/** `helm test`: resolves when every test hook passed, throws HelmError naming the failed one otherwise. */
export async function testRelease(cli: HelmCli, r: TestRequest): Promise<string> {
  const filters = (r.filters ?? []).map((f) => `${f.exclude ? '!' : ''}name=${f.name}`);
  return cli.run(['test', r.name, '--timeout', helmDuration(r.timeoutMs), ...(filters.length ? ['--filter', filters.join(',')] : [])], {
    target: r.target,
    namespace: r.namespace,
    timeoutMs: r.timeoutMs + 60_000,
    signal: r.signal,
  });
}
