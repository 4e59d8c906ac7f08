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
// scalar means, and writes values back out.
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
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
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
function v2Tag(s: string): 'str' | 'other' {
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
    uniqueKeys: true,
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
    const value = contents === null ? undefined : toJson(contents, doc, flavor, lineCounter, { budget: 1_000_000 });
    documents.push({ index, value, line: pos.line, column: pos.col, node: contents, doc });
  });
  return { documents, lineCounter };
}

/** The yaml package's message without its own position suffix and code frame. */
function cleanReason(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

interface WalkState {
  budget: number;
}

function toJson(node: YamlNode, doc: Document.Parsed, flavor: Flavor, lc: LineCounter, st: WalkState): JsonValue {
  if (--st.budget < 0) {
    const pos = lc.linePos(node.range?.[0] ?? 0);
    throw new YamlValueError('document expands to too many nodes (alias bomb?)', pos.line, pos.col);
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) {
      const pos = lc.linePos(node.range?.[0] ?? 0);
      throw new YamlValueError('an alias to an unknown anchor', pos.line, pos.col, node.source);
    }
    return toJson(target, doc, flavor, lc, st);
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

// ---------------------------------------------------------------------------
// Writing, as goyaml.v2 (sigs.k8s.io/yaml) does

const BEST_WIDTH = 80;

/** goyaml.v2's key order: numbers by value, then strings in a "natural" order. */
export function goyamlKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  const isDigit = (ch: string) => ch >= '0' && ch <= '9';
  const isLetter = (ch: string) => /\p{L}/u.test(ch);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i]!;
    const cb = br[i]!;
    if (ca === cb) continue;
    const al = isLetter(ca);
    const bl = isLetter(cb);
    if (al && bl) return ca.codePointAt(0)! < cb.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ca === '0' || cb === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ca.codePointAt(0)! < cb.codePointAt(0)!;
  }
  return ar.length < br.length;
}

function sortedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).sort((a, b) => (goyamlKeyLess(a, b) ? -1 : goyamlKeyLess(b, a) ? 1 : 0));
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64). */
function goFormatFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expStr] = f.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 21) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${neg ? '-' : ''}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  return String(f);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n === 0 ? 0 : n);
  return goFormatFloat(n);
}

// Character classes of libyaml's emitter, by code point.
const isBreakCp = (cp: number) => cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
const isPrintableCp = (cp: number) =>
  cp === 0x0a ||
  (cp >= 0x20 && cp <= 0x7e) ||
  (cp >= 0xa0 && cp <= 0xd7ff) ||
  (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
const isBlankzCp = (cp: number | undefined) => cp === undefined || cp === 0x20 || cp === 0x09 || isBreakCp(cp) || cp === 0;

interface ScalarAnalysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

function analyzeScalar(s: string): ScalarAnalysis {
  const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
  if (cps.length === 0) {
    return { multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  }
  let blockIndicators = false;
  let specialCharacters = false;
  let lineBreaks = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = isBlankzCp(cps[1]);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    const ch = String.fromCodePoint(c);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      else if (ch === '?' || ch === ':') {
        if (followedByWhitespace) blockIndicators = true;
      } else if (ch === '-') {
        if (followedByWhitespace) blockIndicators = true;
      }
    } else if (ch === ':') {
      if (followedByWhitespace) blockIndicators = true;
    } else if (ch === '#') {
      if (precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintableCp(c)) specialCharacters = true;
    if (c === 0x20) {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreakCp(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankzCp(c);
    followedByWhitespace = isBlankzCp(cps[i + 2]);
  }
  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (spaceBreak || specialCharacters) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
    blockAllowed = false;
  }
  if (lineBreaks) blockPlainAllowed = false;
  if (blockIndicators) blockPlainAllowed = false;
  return { multiline: lineBreaks, blockPlainAllowed, singleQuotedAllowed, blockAllowed };
}

type Style = 'plain' | 'single' | 'double' | 'literal';

function chooseStyle(s: string, simpleKey: boolean): Style {
  let style: Style;
  if (s.includes('\n')) style = 'literal';
  else if (v2Tag(s) === 'str' && !BASE60_FLOAT.test(s)) style = 'plain';
  else style = 'double';
  const a = analyzeScalar(s);
  if (style === 'plain') {
    if (!a.blockPlainAllowed || (s.length === 0 && simpleKey) || (simpleKey && a.multiline)) style = 'single';
  }
  if (style === 'single') {
    if (!a.singleQuotedAllowed || (simpleKey && a.multiline)) style = 'double';
  }
  if (style === 'literal') {
    if (!a.blockAllowed || simpleKey) style = 'double';
  }
  return style;
}

/** Writes text while tracking the column, as libyaml's emitter does. */
class Out {
  text = '';
  column = 0;
  write(s: string): void {
    for (const ch of s) {
      if (ch === '\n') {
        this.text += ch;
        this.column = 0;
      } else {
        this.text += ch;
        this.column++;
      }
    }
  }
  indent(n: number): void {
    this.text += '\n' + ' '.repeat(n);
    this.column = n;
  }
}

const DQ_ESCAPES: Record<number, string> = {
  0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e',
  0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
};

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}

function writeDoubleQuoted(out: Out, s: string, indent: number, allowBreaks: boolean): void {
  const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
  out.write('"');
  let spaces = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (!isPrintableCp(c) || c === 0xfeff || isBreakCp(c) || c === 0x22 || c === 0x5c) {
      const esc = DQ_ESCAPES[c];
      if (esc !== undefined) out.write(`\\${esc}`);
      else if (c <= 0xff) out.write(`\\x${hex(c, 2)}`);
      else if (c <= 0xffff) out.write(`\\u${hex(c, 4)}`);
      else out.write(`\\U${hex(c, 8)}`);
      spaces = false;
    } else if (c === 0x20) {
      if (allowBreaks && !spaces && out.column > BEST_WIDTH && i !== 0 && i !== cps.length - 1) {
        out.indent(indent);
        if (cps[i + 1] === 0x20) out.write('\\');
      } else out.write(' ');
      spaces = true;
    } else {
      out.write(String.fromCodePoint(c));
      spaces = false;
    }
  }
  out.write('"');
}

function writeSingleQuoted(out: Out, s: string, indent: number, allowBreaks: boolean): void {
  const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
  out.write("'");
  let spaces = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x20) {
      if (allowBreaks && !spaces && out.column > BEST_WIDTH && i !== 0 && i !== cps.length - 1 && cps[i + 1] !== 0x20) {
        out.indent(indent);
      } else out.write(' ');
      spaces = true;
    } else {
      out.write(c === 0x27 ? "''" : String.fromCodePoint(c));
      spaces = false;
    }
  }
  out.write("'");
}

function writePlain(out: Out, s: string, indent: number, allowBreaks: boolean): void {
  const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
  let spaces = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x20) {
      if (allowBreaks && !spaces && out.column > BEST_WIDTH && cps[i + 1] !== 0x20) out.indent(indent);
      else out.write(' ');
      spaces = true;
    } else {
      out.write(String.fromCodePoint(c));
      spaces = false;
    }
  }
}

function writeLiteral(out: Out, s: string, indent: number): void {
  let hints = '';
  if (s.startsWith(' ') || s.startsWith('\n')) hints += '2';
  if (!s.endsWith('\n')) hints += '-';
  else if (s === '\n' || s.endsWith('\n\n')) hints += '+';
  out.write(`|${hints}`);
  out.text += '\n';
  out.column = 0;
  let atLineStart = true;
  for (const ch of s) {
    if (ch === '\n') {
      out.text += '\n';
      out.column = 0;
      atLineStart = true;
    } else {
      if (atLineStart) {
        out.text += ' '.repeat(indent);
        out.column = indent;
        atLineStart = false;
      }
      out.write(ch);
    }
  }
  // The emitter starts the next node on a new line.
  if (!out.text.endsWith('\n')) {
    out.text += '\n';
    out.column = 0;
  }
}

function writeString(out: Out, s: string, indent: number, simpleKey: boolean): void {
  const style = chooseStyle(s, simpleKey);
  const allowBreaks = !simpleKey;
  switch (style) {
    case 'plain':
      writePlain(out, s, indent, allowBreaks);
      break;
    case 'single':
      writeSingleQuoted(out, s, indent, allowBreaks);
      break;
    case 'double':
      writeDoubleQuoted(out, s, indent, allowBreaks);
      break;
    case 'literal':
      writeLiteral(out, s, indent);
      break;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function endLine(out: Out): void {
  if (!out.text.endsWith('\n')) {
    out.text += '\n';
    out.column = 0;
  }
}

/** Writes a scalar or an empty collection after the current position. */
function writeInline(out: Out, v: unknown, indent: number): boolean {
  if (v === null || v === undefined) out.write('null');
  else if (typeof v === 'boolean') out.write(v ? 'true' : 'false');
  else if (typeof v === 'number') out.write(formatNumber(v));
  else if (typeof v === 'bigint') out.write(v.toString());
  else if (typeof v === 'string') writeString(out, v, indent, false);
  else if (Array.isArray(v) && v.length === 0) out.write('[]');
  else if (isObj(v) && Object.keys(v).length === 0) out.write('{}');
  else return false;
  return true;
}

function writeMapping(out: Out, obj: Record<string, unknown>, indent: number, firstInline: boolean): void {
  let first = true;
  for (const key of sortedKeys(obj)) {
    const v = obj[key];
    if (!(first && firstInline)) {
      endLine(out);
      out.write(' '.repeat(indent));
    }
    first = false;
    writeString(out, key, indent, true);
    out.write(':');
    if (Array.isArray(v) && v.length > 0) {
      writeSequence(out, v, indent);
    } else if (isObj(v) && Object.keys(v).length > 0) {
      writeMapping(out, v, indent + 2, false);
    } else {
      out.write(' ');
      writeInline(out, v, indent + 2);
    }
  }
}

function writeSequence(out: Out, arr: unknown[], indent: number): void {
  for (const item of arr) {
    endLine(out);
    out.write(' '.repeat(indent) + '-');
    writeSequenceItem(out, item, indent + 2);
  }
}

function writeSequenceItem(out: Out, item: unknown, indent: number): void {
  if (Array.isArray(item) && item.length > 0) {
    // A nested sequence starts on the dash's line: "- - a".
    let first = true;
    for (const inner of item) {
      if (first) out.write(' -');
      else {
        endLine(out);
        out.write(' '.repeat(indent) + '-');
      }
      first = false;
      writeSequenceItem(out, inner, indent + 2);
    }
  } else if (isObj(item) && Object.keys(item).length > 0) {
    out.write(' ');
    writeMapping(out, item, indent, true);
  } else {
    out.write(' ');
    writeInline(out, item, indent);
  }
}

/**
 * Renders a JSON value as YAML text exactly as sigs.k8s.io/yaml's
 * JSONToYAML does (goyaml.v2 with its default settings).
 */
export function emitV2(value: unknown): string {
  const out = new Out();
  if (isObj(value) && Object.keys(value).length > 0) {
    writeMapping(out, value, 0, true);
  } else if (Array.isArray(value) && value.length > 0) {
    let first = true;
    for (const item of value) {
      if (!first) endLine(out);
      out.write('-');
      first = false;
      writeSequenceItem(out, item, 2);
    }
  } else {
    writeInline(out, value, 0);
  }
  endLine(out);
  return out.text;
}

/** Renders several objects as kustomize prints them: documents joined by `---`. */
export function emitV2Stream(values: unknown[]): string {
  return values.map((v) => emitV2(v)).join('---\n');
}
