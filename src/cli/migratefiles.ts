// `sluice migrate -f`: rewrites the Flux objects of YAML files to their
// current API versions (src/api/migrate.ts says what changes). A document
// whose apiVersion alone changes keeps every other byte; one with beta-only
// fields is written again from its parsed form, keeping its comments. Files
// that are not plain YAML (Helm templates) get the apiVersion line change
// only, as `flux migrate` does, with a warning when a beta-only field may be
// in them.
import { parseAllDocuments, type Document } from 'yaml';
import { migrationOf, type Migration } from '../api/migrate.ts';

export interface DocumentChange {
  /** 1-based line of the apiVersion. */
  line: number;
  kind: string;
  name?: string;
  from: string;
  to: string;
  notes: string[];
}

export interface FileMigration {
  text: string;
  changes: DocumentChange[];
  /** Set when the file could not be parsed as YAML and was changed line by line. */
  warning?: string;
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

/** The migrated text of one file (unchanged text and no changes when nothing is to do). */
export function migrateYamlText(text: string): FileMigration {
  const docs = parseAllDocuments(text) as Document.Parsed[] | { errors: unknown[] };
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length)) return migrateLines(text);
  const changes: DocumentChange[] = [];
  let out = '';
  let prev = 0;
  for (const doc of docs) {
    const end = doc.range[2];
    let region = text.slice(prev, end);
    const obj = doc.toJS() as Record<string, unknown> | null;
    const m = migrationOf(obj);
    if (m && obj) {
      const av = doc.get('apiVersion', true) as { range?: [number, number, number]; source?: string } | undefined;
      const line = av?.range ? lineOf(text, av.range[0]) : lineOf(text, doc.range[0]);
      changes.push({ line, kind: String(obj.kind), name: nameOf(obj), from: String(obj.apiVersion), to: m.apiVersion, notes: m.notes });
      region = m.edits.length ? rewritten(doc, m, region) : replaceApiVersion(text, prev, region, av, m.apiVersion);
    }
    out += region;
    prev = end;
  }
  return { text: out + text.slice(prev), changes };
}

function nameOf(obj: Record<string, unknown>): string | undefined {
  const md = obj.metadata as { name?: unknown } | undefined;
  return typeof md?.name === 'string' ? md.name : undefined;
}

/** The region with the apiVersion scalar's text replaced, quotes kept. */
function replaceApiVersion(text: string, regionStart: number, region: string, av: { range?: [number, number, number] } | undefined, to: string): string {
  if (!av?.range) return region;
  const [s, e] = [av.range[0] - regionStart, av.range[1] - regionStart];
  const old = text.slice(av.range[0], av.range[1]);
  const quote = /^["']/.test(old) ? old[0] : '';
  return region.slice(0, s) + quote + to + quote + region.slice(e);
}

/** The document written again with the migration's edits, ending as the region did. */
function rewritten(doc: Document.Parsed, m: Migration, region: string): string {
  doc.set('apiVersion', m.apiVersion);
  for (const e of m.edits) {
    if (e.op === 'delete') doc.deleteIn(e.path);
    else doc.setIn(e.path, doc.createNode(e.value));
  }
  const s = String(doc);
  return region.endsWith('\n') || !s.endsWith('\n') ? s : s.slice(0, -1);
}

/** Flux's line method, for files that are not YAML: an apiVersion line followed by a kind line. */
function migrateLines(text: string): FileMigration {
  const lines = text.split('\n');
  const changes: DocumentChange[] = [];
  let betaFields = false;
  for (let i = 0; i + 1 < lines.length; i++) {
    const av = /^(\s*apiVersion:\s*)(["']?)([a-z0-9.-]+\/[a-z0-9]+)\2(.*)$/.exec(lines[i]!);
    const kind = /^\s*kind:\s*["']?([A-Za-z]+)/.exec(lines[i + 1]!);
    if (!av || !kind) continue;
    const m = migrationOf({ apiVersion: av[3], kind: kind[1] });
    if (!m) continue;
    lines[i] = `${av[1]}${av[2]}${m.apiVersion}${av[2]}${av[4]}`;
    changes.push({ line: i + 1, kind: kind[1]!, from: av[3]!, to: m.apiVersion, notes: [] });
  }
  if (changes.length) betaFields = /\b(patchesStrategicMerge|patchesJson6902|valuesFile|gitImplementation|accessFrom|validation):/.test(text);
  return {
    text: lines.join('\n'),
    changes,
    warning: changes.length
      ? `not plain YAML (a template?): only apiVersion lines were changed${betaFields ? '; it names fields that exist only in the betas, which must be rewritten by hand (see sluice migrate --help)' : ''}`
      : undefined,
  };
}
