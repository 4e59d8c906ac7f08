// Sluice's CRDs against Flux's: `node --import tsx test/compat/report.ts`
// prints how many differences there are per kind and aspect, and whether
// test/compat/differences.yaml lists exactly them; `--write` rewrites that
// file from the current code (keeping the whys of entries still found), and
// `--lines` prints every difference's one-line form.
import { existsSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { differenceLine } from './crdcompare.ts';
import { checkKnown, currentDifferences, knownFile, loadFluxCrds, readKnown, renderKnown, summary } from './known.ts';

const args = process.argv.slice(2);
const found = currentDifferences();
const previous = existsSync(knownFile) ? readKnown() : [];

console.log(`Flux CRDs: ${loadFluxCrds().modules.join(', ')}`);
console.log(summary(found));
if (args.includes('--lines')) for (const d of found) console.log(differenceLine(d));

if (args.includes('--write')) {
  writeFileSync(knownFile, renderKnown(found, previous));
  console.log(`wrote ${relative(process.cwd(), knownFile)} (${found.length} entries)`);
} else {
  const { unexpected, stale } = checkKnown(found, previous);
  console.log(`${relative(process.cwd(), knownFile)}: ${unexpected.length} unexpected, ${stale.length} stale`);
  for (const l of unexpected) console.log(`  + ${l}`);
  for (const l of stale) console.log(`  - ${l}`);
}
