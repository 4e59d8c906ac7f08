#!/usr/bin/env node
// Runs Sluice from the bundle of its sources (see bundle.js), or straight
// from the TypeScript sources through tsx when SLUICE_NO_BUNDLE=1 or the
// bundle cannot be built.
import { entryModule } from './bundle.js';

let entry;
try {
  entry = await entryModule();
} catch (err) {
  process.stderr.write(`sluice: running from sources, the bundle could not be built: ${err.message}\n`);
}
if (!entry) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
