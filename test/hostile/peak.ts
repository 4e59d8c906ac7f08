// Builds one directory as a Kustomization in a process of its own and prints,
// as JSON, the outcome and the process's peak RSS before and after: the
// memory a hostile file costs, without the test runner's own in the figure.
//   node --import tsx test/hostile/peak.ts DIR [--kustomize]
import { buildKustomization } from '../../src/render/index.ts';

const dir = process.argv[2]!;
const before = process.resourceUsage().maxRSS;
const start = performance.now();
let error: string | undefined;
let objects = 0;
try {
  objects = (await buildKustomization({ dir, spec: { path: '.' }, forceKustomize: process.argv.includes('--kustomize') })).objects.length;
} catch (err) {
  error = `${(err as Error).name}: ${(err as Error).message}`;
}
process.stdout.write(`${JSON.stringify({ error, objects, ms: Math.round(performance.now() - start), peakKiBBefore: before, peakKiB: process.resourceUsage().maxRSS })}\n`);
