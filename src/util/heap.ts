import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full
 * collection, in percent, for the long-running controller. V8's own factor
 * goes up to 4x when collections look cheap, which a reconcile burst always
 * makes them look: 1,000 Kustomizations rolled out with 26 MiB live in a heap
 * snapshot and 160-200 MiB RSS at the peak. At 1.5x the peak was 143 MiB with
 * the same CPU (bench/suite.ts, section 1). Unlike --max-old-space-size it is
 * no ceiling: a larger fleet still gets the heap it needs.
 *
 * V8 reads this flag each time it sets the next collection's limit, so it
 * works when set after start (NODE_OPTIONS does not accept it). An explicit
 * --heap-growing-percent on node's command line wins.
 */
export const CONTROLLER_HEAP_GROWING_PERCENT = 50;

/** Sets the growth limit unless node was started with one; says whether it did. */
export function limitHeapGrowth(
  percent = CONTROLLER_HEAP_GROWING_PERCENT,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  setFlags(`--heap-growing-percent=${percent}`);
  return true;
}
