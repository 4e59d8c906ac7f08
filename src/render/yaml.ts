// YAML reading and writing with the value semantics of the Go libraries that
// Flux and kustomize use, so that Sluice turns the same text into the same
// objects:
//
// - kustomize reads manifests with yaml.v3 ("v3" flavour): `yes`/`on` stay
//   strings, `0755` is octal, a plain `2001-12-14` becomes a timestamp that is
//   written back as "2001-12-14T00:00:00Z".
// - kustomize writes its output, and Flux renders each object for variable
//   substitution, with sigs.k8s.io/yaml, that is goyaml.v2 ("v2" flavour): keys
//   in goyaml's natural order, strings quoted only where YAML 1.1 would read
//   them as something else, long lines folded at 80 columns.
// - Flux and the Kubernetes API machinery read YAML back with goyaml.v2:
//   `yes`/`on`/`y` are booleans, timestamps stay the strings they were.
//
// The parsing itself (structure, errors with line and column) is done by the
// `yaml` package with its failsafe schema; this module only decides what each
// scalar means. Writing values back out is in yamlwrite.ts.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar } from 'yaml';
import type { Document, Node as YamlNode, ParsedNode } from 'yaml';

export type Flavor = 'v2' | 'v3';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A YAML syntax error, with a 1-based line and column. */
export class YamlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'YamlSyntaxError';
  }
}

/** A value that cannot be represented (e.g. `.inf`, which JSON cannot hold). */
export class YamlValueError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    /** The offending text, kept out of the message (it may come from a substituted Secret). */
    readonly text?: string,
  ) {
    super(message);
    this.name = 'YamlValueError';
  }
}

// ---------------------------------------------------------------------------
// Scalar resolution

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUE_V3 = new Set(['true', 'True', 'TRUE']);
const FALSE_V3 = new Set(['false', 'False', 'FALSE']);
const TRUE_V2 = new Set([...TRUE_V3, 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE_V2 = new Set([...FALSE_V3, 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const SPECIAL_FLOATS: Record<string, number> = {
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity,
  '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity,
  '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
};
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
export const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.ParseInt/ParseUint with base 0 (prefixes 0x, 0o, 0b, and a leading 0 for octal). */
function goParseInteger(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const body = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(`0x${body.slice(2)}`);
  else if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
  else if (/^0[bB]/.test(body)) v = BigInt(`0b${body.slice(2)}`);
  else if (body.length > 1 && body.startsWith('0')) v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  v *= sign;
  if (v >= INT64_MIN && v <= INT64_MAX) return v;
  if (m[1] !== '-' && v <= UINT64_MAX) return v; // ParseUint accepts no minus sign
  return undefined;
}

/** Go's time.Parse with the layouts yaml.v2/v3 try for a plain scalar that starts `YYYY-`. */
function parseTimestamp(s: string): { iso: string } | undefined {
  if (!/^[0-9]{4}-/.test(s)) return undefined;
  const full = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?))?$/.exec(s);
  if (!full) return undefined;
  const year = Number(full[1]);
  const month = Number(full[2]);
  const day = Number(full[3]);
  const hour = Number(full[4] ?? full[9] ?? 0);
  const minute = Number(full[5] ?? full[10] ?? 0);
  const second = Number(full[6] ?? full[11] ?? 0);
  const frac = (full[7] ?? full[12] ?? '').slice(0, 9);
  const zone = full[8] ?? 'Z';
  if (month < 1 || month > 12) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (zone !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return undefined;
  }
  const p2 = (n: number) => String(n).padStart(2, '0');
  const fracOut = frac.replace(/0+$/, '');
  const zoneOut = zone === '+00:00' || zone === '-00:00' ? 'Z' : zone;
  return {
    iso: `${full[1]}-${p2(month)}-${p2(day)}T${p2(hour)}:${p2(minute)}:${p2(second)}${fracOut ? `.${fracOut}` : ''}${zoneOut}`,
  };
}

/**
 * What a plain (unquoted, untagged) scalar means to goyaml v2 or v3 when
 * decoded into an interface{} and then marshalled to JSON. Returns a number
 * that may be ±Infinity or NaN; callers decide whether that is an error.
 */
export function resolvePlain(s: string, flavor: Flavor): JsonValue {
  if (NULLS.has(s)) return null;
  if ((flavor === 'v2' ? TRUE_V2 : TRUE_V3).has(s)) return true;
  if ((flavor === 'v2' ? FALSE_V2 : FALSE_V3).has(s)) return false;
  if (s in SPECIAL_FLOATS) return SPECIAL_FLOATS[s]!;
  const c = s.charCodeAt(0);
  const numericStart = (c >= 48 && c <= 57) || c === 43 /* + */ || c === 45 /* - */ || c === 46; /* . */
  if (!numericStart) return s;
  const ts = parseTimestamp(s);
  if (ts) return flavor === 'v3' ? ts.iso : s;
  const plain = s.replaceAll('_', '');
  const int = goParseInteger(plain);
  if (int !== undefined) return Number(int);
  if (YAML_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return f; // Go's ParseFloat fails (range error) where JS gives ±Infinity
  }
  return s;
}

/** How goyaml.v2 resolves a string that it would write plain: its tag. */
export function v2Tag(s: string): 'str' | 'other' {
  const v = resolvePlain(s, 'v2');
  if (typeof v === 'string') return parseTimestamp(s) ? 'other' : 'str';
  return 'other';
}

// ---------------------------------------------------------------------------
// Parsing

export interface ParsedDocument {
  /** 0-based index of the document in the stream. */
  index: number;
  /** The document's value; `undefined` for an empty document. */
  value: JsonValue | undefined;
  /** Where the document's content starts (1-based), or the document itself when empty. */
  line: number;
  column: number;
  /** For documents whose value is a mapping: the position of selected nodes. */
  node: YamlNode | null;
  doc: Document.Parsed;
}

export interface ParseResult {
  documents: ParsedDocument[];
  lineCounter: LineCounter;
}

const YAML_TAG = 'tag:yaml.org,2002:';

/**
 * Splits a YAML stream into documents and resolves each to JSON values.
 * Throws YamlSyntaxError for the first syntax error in the stream.
 */
export function parseYamlStream(text: string, flavor: Flavor): ParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    lineCounter,
    // Duplicate keys are found in toJson (see there).
    uniqueKeys: false,
    strict: true,
    prettyErrors: false,
    merge: false,
  });
  // For input without documents this is an empty (array-like) EmptyStream.
  const list = Array.from(docs as Iterable<Document.Parsed>);
  const documents: ParsedDocument[] = [];
  list.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const pos = lineCounter.linePos(err.pos[0]);
      throw new YamlSyntaxError(cleanReason(err.message), pos.line, pos.col);
    }
    const contents = doc.contents as ParsedNode | null;
    const start = contents?.range?.[0] ?? doc.range[0];
    const pos = lineCounter.linePos(start);
    let value: JsonValue | undefined;
    try {
      value = contents === null ? undefined : toJson(contents, doc, flavor, lineCounter, { budget: 1_000_000, aliasBudget: ALIAS_BUDGET, aliasDepth: 0 });
    } catch (e) {
      if (e instanceof RangeError) throw new YamlValueError(NESTED_TOO_DEEP, pos.line, pos.col);
      throw e;
    }
    documents.push({ index, value, line: pos.line, column: pos.col, node: contents, doc });
  });
  return { documents, lineCounter };
}

const NESTED_TOO_DEEP = 'collections nested too deeply to read (the parser ran out of stack)';

/** The yaml package's message without its own position suffix and code frame. */
function cleanReason(message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (/Maximum call stack size exceeded/.test(first)) return NESTED_TOO_DEEP;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

/**
 * Nodes a document may produce through aliases. A billion-laughs document
 * (10 anchors of 9 aliases each) is a few hundred bytes and 3 billion
 * nodes; kustomize's yaml.v3 stops such documents by their alias ratio. The
 * limit here is far above what any real manifest repeats through anchors,
 * and is reached in well under a second.
 */
const ALIAS_BUDGET = 100_000;

interface WalkState {
  budget: number;
  aliasBudget: number;
  /** > 0 while walking a node reached through an alias. */
  aliasDepth: number;
}

function toJson(node: YamlNode, doc: Document.Parsed, flavor: Flavor, lc: LineCounter, st: WalkState): JsonValue {
  if (--st.budget < 0) {
    const pos = lc.linePos(node.range?.[0] ?? 0);
    throw new YamlValueError('document expands to too many nodes (alias bomb?)', pos.line, pos.col);
  }
  if (st.aliasDepth > 0 && --st.aliasBudget < 0) {
    const pos = lc.linePos(node.range?.[0] ?? 0);
    throw new YamlValueError(`document expands to over ${ALIAS_BUDGET} nodes through aliases (alias bomb?)`, pos.line, pos.col);
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) {
      const pos = lc.linePos(node.range?.[0] ?? 0);
      throw new YamlValueError('an alias to an unknown anchor', pos.line, pos.col, node.source);
    }
    st.aliasDepth++;
    try {
      return toJson(target, doc, flavor, lc, st);
    } finally {
      st.aliasDepth--;
    }
  }
  if (isScalar(node)) return scalarToJson(node, flavor, lc);
  if (isSeq(node)) return node.items.map((item) => (item == null ? null : toJson(item as YamlNode, doc, flavor, lc, st)));
  if (isMap(node)) {
    const out: Record<string, JsonValue> = {};
    const explicit = new Set<string>();
    const merges: Record<string, JsonValue>[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const valNode = pair.value as YamlNode | null;
      if (keyNode && isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.source === '<<' && !keyNode.tag) {
        // Merge key: the value is a mapping (or alias to one) or a list of them.
        const sources = valNode && isSeq(valNode) ? valNode.items : [valNode];
        for (const s of sources) {
          const v = s == null ? null : toJson(s as YamlNode, doc, flavor, lc, st);
          if (v && typeof v === 'object' && !Array.isArray(v)) merges.push(v);
          else {
            const pos = lc.linePos((s as YamlNode | null)?.range?.[0] ?? node.range?.[0] ?? 0);
            throw new YamlValueError('a merge key (<<) needs a mapping or a list of mappings', pos.line, pos.col);
          }
        }
        continue;
      }
      const key = keyToString(keyNode, doc, flavor, lc, st);
      if (explicit.has(key)) {
        // Checked here, in one pass, rather than by the parser's uniqueKeys
        // option, which compares every key with every other: minutes for a
        // file of 100,000 keys.
        const pos = lc.linePos(keyNode?.range?.[0] ?? node.range?.[0] ?? 0);
        const first = node.items.find((p) => isPair(p) && p.key && keyToString(p.key as YamlNode, doc, flavor, lc, { budget: Infinity, aliasBudget: Infinity, aliasDepth: 0 }) === key);
        const firstLine = lc.linePos(((first as { key?: YamlNode } | undefined)?.key?.range?.[0]) ?? 0).line;
        throw new YamlSyntaxError(`mapping key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}...` : key)} already defined at line ${firstLine}`, pos.line, pos.col);
      }
      explicit.add(key);
      out[key] = valNode == null ? null : toJson(valNode, doc, flavor, lc, st);
    }
    if (merges.length) {
      const merged: Record<string, JsonValue> = {};
      for (const m of merges) for (const [k, v] of Object.entries(m)) if (!(k in merged)) merged[k] = v;
      for (const [k, v] of Object.entries(merged)) if (!explicit.has(k)) out[k] = v;
    }
    return out;
  }
  return null;
}

function keyToString(keyNode: YamlNode | null, doc: Document.Parsed, flavor: Flavor, lc: LineCounter, st: WalkState): string {
  if (keyNode == null) return '';
  if (isScalar(keyNode)) {
    // Keys keep their text: goyaml would turn a numeric key into its decimal
    // form, but Kubernetes objects have string keys.
    return String(keyNode.value ?? '');
  }
  const v = toJson(keyNode, doc, flavor, lc, st);
  return JSON.stringify(v);
}

function scalarToJson(node: Scalar, flavor: Flavor, lc: LineCounter): JsonValue {
  const raw = node.value == null ? '' : String(node.value);
  const tag = node.tag;
  let v: JsonValue;
  if (tag && tag !== '!') {
    const short = tag.startsWith(YAML_TAG) ? tag.slice(YAML_TAG.length) : tag.startsWith('!!') ? tag.slice(2) : tag;
    switch (short) {
      case 'str':
      case 'binary':
        v = raw;
        break;
      case 'timestamp': {
        const ts = parseTimestamp(raw);
        v = ts && flavor === 'v3' ? ts.iso : raw;
        break;
      }
      case 'int':
      case 'float':
      case 'bool':
      case 'null':
        v = resolvePlain(raw, flavor);
        break;
      default:
        v = node.type === 'PLAIN' ? resolvePlain(raw, flavor) : raw;
    }
  } else if (tag === '!' || node.type !== 'PLAIN') {
    v = raw;
  } else {
    v = resolvePlain(raw, flavor);
  }
  if (typeof v === 'number' && !Number.isFinite(v)) {
    const pos = lc.linePos(node.range?.[0] ?? 0);
    throw new YamlValueError(
      `${Number.isNaN(v) ? "a NaN" : "an infinite"} number, which a Kubernetes object (JSON) cannot hold`,
      pos.line,
      pos.col,
      raw,
    );
  }
  return v;
}

