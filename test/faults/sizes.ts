// Quick and full sizes of the reliability suite. `npm test` runs the quick
// form (CI); `npm run reliability -- --full` sets SLUICE_RELIABILITY=full for
// the sizes issue 20 asks for. Each test prints its figures as `# figure:`
// lines, which scripts/reliability.ts collects.

export const FULL = process.env.SLUICE_RELIABILITY === 'full';

/** The quick value in CI, the full one on demand. */
export function size<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}

/** A measured figure, printed where the reliability runner (and a person reading the log) finds it. */
export function figure(name: string, value: number | string, unit = ''): void {
  process.stderr.write(`# figure: ${name} = ${value}${unit ? ` ${unit}` : ''} (${FULL ? 'full' : 'quick'})\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A deterministic random source (mulberry32), so a failing run can be repeated with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: SLUICE_FAULTS_SEED, else the clock; printed so a run can be replayed. */
export function runSeed(): number {
  const env = process.env.SLUICE_FAULTS_SEED;
  const seed = env ? Number(env) : Date.now() % 1_000_000;
  process.stderr.write(`# seed ${seed} (SLUICE_FAULTS_SEED=${seed} repeats this run's timings)\n`);
  return seed;
}
