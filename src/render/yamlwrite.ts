// Writing YAML as goyaml.v2 (sigs.k8s.io/yaml) does, which is how kustomize
// writes its output and how Flux renders each object for variable
// substitution: keys in goyaml's natural order, strings quoted only where
// YAML 1.1 would read them as something else, long lines folded at 80
// columns. Which plain scalars need quoting is decided by the reading rules
// of yaml.ts, so the two stay one definition of goyaml.v2's scalars.
import { BASE60_FLOAT, v2Tag } from './yaml.ts';

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
