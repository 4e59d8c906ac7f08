import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { allCrds } from '../../src/api/crds.ts';
import { compareCrdSets, differenceLine, type Crd, type CrdDifference } from './crdcompare.ts';

// The files around the comparison: Flux's CRDs (test/compat/flux-crds/),
// the known differences (test/compat/differences.yaml), and the text the
// test and report.ts print. crdcompare.ts itself stays pure.

export const compatDir = fileURLToPath(new URL('.', import.meta.url));
export const fluxCrdsDir = join(compatDir, 'flux-crds');
export const knownFile = join(compatDir, 'differences.yaml');

/** Flux's CRDs: every document of test/compat/flux-crds/<module>@<version>/*.yaml, one module version each. */
export function loadFluxCrds(dir = fluxCrdsDir): { crds: Crd[]; modules: string[] } {
  const modules = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const seen = new Map<string, string>();
  for (const m of modules) {
    const name = m.split('@')[0]!;
    if (seen.has(name)) throw new Error(`${dir}: both ${seen.get(name)} and ${m}; keep one version of each module`);
    seen.set(name, m);
  }
  const crds: Crd[] = [];
  for (const m of modules) {
    for (const f of readdirSync(join(dir, m)).filter((n) => n.endsWith('.yaml')).sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, m, f), 'utf8'))) {
        const crd = doc.toJS() as Crd | null;
        if (crd && crd.kind === 'CustomResourceDefinition') crds.push(crd);
      }
    }
  }
  return { crds, modules };
}

/** Flux's CRDs against the ones `sluice install` writes. */
export function currentDifferences(): CrdDifference[] {
  return compareCrdSets(loadFluxCrds().crds, allCrds());
}

export interface KnownEntry {
  kind: string;
  diff: string;
  why: string;
}

/**
 * differences.yaml: a map from kind to its list of `{ diff, why }`, where
 * diff is the difference's one-line form. Throws on entries without a why,
 * under the wrong kind, or listed twice.
 */
export function parseKnown(text: string, file = 'differences.yaml'): KnownEntry[] {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const out: KnownEntry[] = [];
  const lines = new Set<string>();
  for (const [kind, list] of Object.entries(doc)) {
    if (!Array.isArray(list)) throw new Error(`${file}: ${kind}: want a list of { diff, why }`);
    for (const e of list as Array<Record<string, unknown>>) {
      const diff = typeof e?.diff === 'string' ? e.diff : '';
      const why = typeof e?.why === 'string' ? e.why.trim() : '';
      if (!diff) throw new Error(`${file}: ${kind}: an entry without diff`);
      if (!why) throw new Error(`${file}: ${diff}: no why`);
      if (!diff.startsWith(`${kind} `) && !diff.startsWith(`${kind}/`)) throw new Error(`${file}: ${diff}: listed under ${kind}`);
      if (lines.has(diff)) throw new Error(`${file}: ${diff}: listed twice`);
      lines.add(diff);
      out.push({ kind, diff, why });
    }
  }
  return out;
}

export function readKnown(file = knownFile): KnownEntry[] {
  return parseKnown(readFileSync(file, 'utf8'), file);
}

/** What the comparison found against what differences.yaml lists. */
export function checkKnown(found: CrdDifference[], known: KnownEntry[]): { unexpected: string[]; stale: string[] } {
  const lines = new Set(found.map(differenceLine));
  const listed = new Set(known.map((k) => k.diff));
  return {
    unexpected: [...lines].filter((l) => !listed.has(l)).sort(),
    stale: [...listed].filter((l) => !lines.has(l)).sort(),
  };
}

export const GAP = 'gap: not implemented yet (issue "Drop-in for Flux 2.9")';

/** The why a new entry starts with, before a person edits it. */
export function defaultWhy(d: CrdDifference): string {
  if (d.aspect === 'version' && d.flux === undefined) {
    return `accepted: Sluice still serves ${d.version}, which Flux 2.9 no longer serves, so objects written for older Flux releases keep working`;
  }
  if (d.aspect === 'pattern' && typeof d.sluice === 'string' && d.sluice.includes('|h))') && typeof d.flux === 'string' && !d.flux.includes('|h)')) {
    return 'gap: Sluice\'s duration pattern also accepts hours, Flux\'s does not here; Sluice accepts every value Flux does (issue "Drop-in for Flux 2.9")';
  }
  if (d.path === 'status' && d.aspect === 'default') return 'gap: Flux defaults status.observedGeneration to -1, Sluice leaves it unset (issue "Drop-in for Flux 2.9")';
  if (/^status\.conditions\[\]\.(type|reason)$/.test(d.path) && d.aspect === 'pattern') {
    return 'gap: Flux validates condition types and reasons with the Kubernetes condition patterns, Sluice does not (issue "Drop-in for Flux 2.9")';
  }
  if (d.aspect === 'field' && d.flux === undefined) return 'gap: only in Sluice; to remove or to confirm as an extension (issue "Drop-in for Flux 2.9")';
  if (d.aspect === 'field' || d.aspect === 'kind') return GAP;
  return 'gap: differs from Flux; to align (issue "Drop-in for Flux 2.9")';
}

const HEADER = `# Known differences between Sluice's CRDs (src/api) and Flux's
# (test/compat/flux-crds), checked by test/compat/crds.test.ts: the
# comparison must find exactly these, no more, no fewer.
#
# Each entry is the difference's one-line form (Kind/version path aspect:
# flux=... sluice=..., with - for "none") and why it is there: "gap: ..."
# for what is still to do, "accepted: ..." for a difference Sluice keeps on
# purpose. \`node --import tsx test/compat/report.ts --write\` rewrites this
# file from the code, keeping the whys of the entries still found.
`;

/** The text of differences.yaml for these differences, grouped by kind, keeping the whys of earlier entries. */
export function renderKnown(found: CrdDifference[], previous: KnownEntry[]): string {
  const whys = new Map(previous.map((k) => [k.diff, k.why]));
  const byKind = new Map<string, Array<{ diff: string; why: string }>>();
  for (const d of found) {
    const line = differenceLine(d);
    const list = byKind.get(d.kind) ?? [];
    list.push({ diff: line, why: whys.get(line) ?? defaultWhy(d) });
    byKind.set(d.kind, list);
  }
  const doc: Record<string, Array<{ diff: string; why: string }>> = {};
  for (const kind of [...byKind.keys()].sort()) doc[kind] = byKind.get(kind)!;
  return `${HEADER}\n${stringify(doc, { lineWidth: 0 })}`;
}

/** Counts per kind and aspect, as a small table. */
export function summary(found: CrdDifference[]): string {
  const counts = new Map<string, Map<string, number>>();
  for (const d of found) {
    const m = counts.get(d.kind) ?? new Map<string, number>();
    const aspect = d.aspect === 'field' ? (d.flux === undefined ? 'field (Sluice only)' : 'field (Flux only)') : d.aspect;
    m.set(aspect, (m.get(aspect) ?? 0) + 1);
    counts.set(d.kind, m);
  }
  const lines: string[] = [];
  for (const kind of [...counts.keys()].sort()) {
    const m = counts.get(kind)!;
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    lines.push(`${kind}: ${total}`);
    for (const [aspect, n] of [...m].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${aspect.padEnd(36)} ${n}`);
  }
  lines.push(`total: ${found.length}`);
  return lines.join('\n');
}
