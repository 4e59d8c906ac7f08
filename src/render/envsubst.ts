// Bash-style `${...}` expansion with the exact grammar and results of the
// envsubst package Flux uses for post-build substitution (fluxcd/pkg/envsubst,
// a fork of drone/envsubst), including its quirks:
//
// - `$${x}` is written out as `${x}`; `$$` anywhere outside `${...}` becomes `$`.
// - Every default form (`:=`, `:-`, `=`, and also `:+`, `:?`) uses the default
//   when the value is empty, not only when it is unset.
// - `${var-default}` (without the colon) is not supported: it is a syntax error.
// - `#`, `##`, `%`, `%%` take glob patterns in which `*` also matches `/`;
//   `/` and `//` replace a literal substring.
// - `${#var}` and offsets in `${var:offset:length}` count UTF-8 bytes.
// - Strict mode: an unset variable is an error, unless a default form is used.

export class EnvsubstError extends Error {
  constructor(
    message: string,
    /** 0-based offset in the input near which parsing failed, if a parse error. */
    readonly offset?: number,
    /** The unset variable, for a strict-mode error. */
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'EnvsubstError';
  }
}

type Node =
  | { t: 'text'; value: string }
  | { t: 'list'; nodes: Node[] }
  | { t: 'func'; name: string; param: string; args: Node[] };

const EOF = '';
const M_IDENT = 1;
const M_LBRACK = 2;
const M_RBRACK = 4;
const M_ESCAPE = 8;
const E_DOLLAR = 1;
const E_BACKSLASH = 2;

type Accept = (r: string, i: number) => boolean;
type Token = 'eof' | 'ident' | 'lbrack' | 'rbrack' | 'illegal';

const acceptAny: Accept = () => true;
const acceptIdent: Accept = (r) => /^[\p{L}\p{Nd}_]$/u.test(r);
const acceptColon: Accept = (r) => r === ':';
const acceptOneHash: Accept = (r, i) => r === '#' && i === 1;
const acceptNotClosing: Accept = (r) => r !== '}';
const acceptHashFunc: Accept = (r, i) => r === '#' && i < 3;
const acceptPercentFunc: Accept = (r, i) => r === '%' && i < 3;
const acceptDefaultFunc: Accept = (r, i) => (i === 1 && r === ':') || (i === 2 && '=-?+'.includes(r));
const acceptReplaceFunc: Accept = (r, i) => (i === 1 && r === '/') || (i === 2 && '/#%'.includes(r));
const acceptOneEqual: Accept = (r, i) => i === 1 && r === '=';
const acceptOneColon: Accept = (r, i) => i === 1 && r === ':';
const rejectColonClose: Accept = (r) => r !== ':' && r !== '}';
const acceptSlash: Accept = (r) => r === '/';
const acceptNotSlash: Accept = (r) => r !== '/';
const acceptCasingFunc: Accept = (r, i) => (r === ',' || r === '^') && i < 3;

const ERR_BAD = 'bad substitution';
const ERR_MISSING_BRACE = 'missing closing brace';
const ERR_VAR_NAME = 'unable to parse variable name';
const ERR_FUNC_SUBST = 'unable to parse substitution within function';
const ERR_DEFAULT = 'unable to parse default function';

/** Scanner and recursive-descent parser over the input's characters. */
class Parser {
  private buf: string[];
  private pos = 0;
  private start = 0;
  private width = 0;
  private mode = 0;
  private escapeChars = 0;
  private accept: Accept = acceptAny;
  /** Characters removed by escapes, to map positions back to the input. */
  private removed = 0;

  constructor(input: string) {
    this.buf = Array.from(input);
  }

  private fail(msg: string): never {
    throw new EnvsubstError(msg, this.pos + this.removed);
  }

  private read(): string {
    if (this.pos >= this.buf.length) {
      this.width = 0;
      return EOF;
    }
    this.width = 1;
    return this.buf[this.pos++]!;
  }

  private unread(): void {
    this.pos -= this.width;
  }

  private peek(): string {
    const r = this.read();
    this.unread();
    return r;
  }

  /** Drops the character just read (an escape character), keeping the one after it. */
  private skip(): void {
    this.buf.splice(this.pos - 1, 1);
    this.removed++;
  }

  private str(): string {
    return this.buf.slice(this.start, this.pos).join('');
  }

  private scan(): Token {
    this.start = this.pos;
    const r = this.read();
    if (r === EOF) return 'eof';
    if (this.scanLbrack(r)) return 'lbrack';
    if (this.scanRbrack(r)) return 'rbrack';
    if (this.scanIdent(r)) return 'ident';
    return 'illegal';
  }

  private scanIdent(first: string): boolean {
    if ((this.mode & M_IDENT) === 0) return false;
    if (this.scanEscaped(first)) this.skip();
    else if (!this.accept(first, this.pos - this.start)) return false;
    for (;;) {
      const r = this.read();
      if (r === EOF) {
        this.unread();
        break;
      }
      if (this.scanLbrack(r)) {
        this.unread();
        this.unread();
        break;
      }
      if (this.scanEscaped(r)) {
        this.skip();
        continue;
      }
      if (!this.accept(r, this.pos - this.start)) {
        this.unread();
        break;
      }
    }
    return true;
  }

  private scanLbrack(r: string): boolean {
    if ((this.mode & M_LBRACK) === 0) return false;
    if (r === '$') {
      if (this.read() === '{') return true;
      this.unread();
    }
    return false;
  }

  private scanRbrack(r: string): boolean {
    return (this.mode & M_RBRACK) !== 0 && r === '}';
  }

  private scanEscaped(r: string): boolean {
    if ((this.mode & M_ESCAPE) === 0) return false;
    if (r === '$' && (this.escapeChars & E_DOLLAR) !== 0 && this.peek() === '$') return true;
    if (r === '\\' && (this.escapeChars & E_BACKSLASH) !== 0) {
      const next = this.peek();
      if (next === '/' || next === '\\') return true;
    }
    return false;
  }

  parse(): Node {
    const nodes: Node[] = [];
    for (;;) {
      this.accept = acceptAny;
      this.mode = M_IDENT | M_LBRACK | M_ESCAPE;
      this.escapeChars = E_DOLLAR;
      const tok = this.scan();
      if (tok === 'eof') break;
      if (tok === 'ident') nodes.push({ t: 'text', value: this.str() });
      else if (tok === 'lbrack') nodes.push(this.parseFunc());
      else this.fail(ERR_BAD);
    }
    if (nodes.length === 0) return { t: 'text', value: '' };
    return nodes.length === 1 ? nodes[0]! : { t: 'list', nodes };
  }

  private parseFunc(): Node {
    this.escapeChars = E_DOLLAR | E_BACKSLASH;
    if (this.peek() === '#') return this.parseLenFunc();
    this.accept = acceptIdent;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_VAR_NAME);
    const name = this.str();
    switch (this.peek()) {
      case ':':
        return this.parseDefaultOrSubstr(name);
      case '=':
        return this.parseDefaultFunc(name);
      case ',':
      case '^':
        return this.parseCasingFunc(name);
      case '/':
        return this.parseReplaceFunc(name);
      case '#':
        return this.parseRemoveFunc(name, acceptHashFunc);
      case '%':
        return this.parseRemoveFunc(name, acceptPercentFunc);
    }
    this.accept = acceptIdent;
    this.mode = M_RBRACK;
    if (this.scan() === 'rbrack') return { t: 'func', name: '', param: name, args: [] };
    return this.fail(ERR_MISSING_BRACE);
  }

  private parseParam(accept: Accept, mode: number): Node {
    this.accept = accept;
    this.mode = mode | M_LBRACK;
    switch (this.scan()) {
      case 'lbrack':
        return this.parseFunc();
      case 'ident':
      case 'rbrack':
        return { t: 'text', value: this.str() };
      default:
        return this.fail(ERR_FUNC_SUBST);
    }
  }

  private parseDefaultOrSubstr(name: string): Node {
    this.read();
    const r = this.peek();
    this.unread();
    if (r === '=' || r === '-' || r === '?' || r === '+') return this.parseDefaultFunc(name);
    return this.parseSubstrFunc(name);
  }

  private parseSubstrFunc(name: string): Node {
    const node = { t: 'func' as const, name: '', param: name, args: [] as Node[] };
    this.accept = acceptOneColon;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.name = this.str();
    node.args.push(this.parseParam(rejectColonClose, M_IDENT));
    this.accept = acceptColon;
    this.mode = M_IDENT | M_RBRACK;
    const tok = this.scan();
    if (tok === 'rbrack') return node;
    if (tok !== 'ident') this.fail(ERR_BAD);
    node.args.push(this.parseParam(acceptNotClosing, M_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseRemoveFunc(name: string, accept: Accept): Node {
    const node = { t: 'func' as const, name: '', param: name, args: [] as Node[] };
    this.accept = accept;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.name = this.str();
    node.args.push(this.parseParam(acceptNotClosing, M_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseReplaceFunc(name: string): Node {
    const node = { t: 'func' as const, name: '', param: name, args: [] as Node[] };
    this.accept = acceptReplaceFunc;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.name = this.str();
    if (this.peek() === '/') node.args.push({ t: 'text', value: '' });
    else node.args.push(this.parseParam(acceptNotSlash, M_IDENT | M_ESCAPE));
    this.accept = acceptSlash;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    if (this.peek() === '}') {
      this.consumeRbrack();
      return node;
    }
    node.args.push(this.parseParam(acceptNotClosing, M_IDENT | M_ESCAPE));
    this.consumeRbrack();
    return node;
  }

  private parseDefaultFunc(name: string): Node {
    const node = { t: 'func' as const, name: '', param: name, args: [] as Node[] };
    this.accept = this.peek() === '=' ? acceptOneEqual : acceptDefaultFunc;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_DEFAULT);
    node.name = this.str();
    for (;;) {
      if (this.peek() === '}') {
        this.consumeRbrack();
        return node;
      }
      node.args.push(this.parseParam(acceptNotClosing, M_IDENT));
    }
  }

  private parseCasingFunc(name: string): Node {
    const node = { t: 'func' as const, name: '', param: name, args: [] as Node[] };
    this.accept = acceptCasingFunc;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.name = this.str();
    this.consumeRbrack();
    return node;
  }

  private parseLenFunc(): Node {
    const node = { t: 'func' as const, name: '', param: '', args: [] as Node[] };
    this.accept = acceptOneHash;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.name = this.str();
    this.accept = acceptIdent;
    this.mode = M_IDENT;
    if (this.scan() !== 'ident') this.fail(ERR_BAD);
    node.param = this.str();
    this.consumeRbrack();
    return node;
  }

  private consumeRbrack(): void {
    this.mode = M_RBRACK;
    if (this.scan() !== 'rbrack') this.fail(ERR_BAD);
  }
}

// ---------------------------------------------------------------------------
// The functions

/** Go's strings.Replace: an empty `old` inserts `neu` before every character and at the end. */
function goReplace(s: string, old: string, neu: string, n: number): string {
  if (old === neu || n === 0) return s;
  if (old === '') {
    const chars = Array.from(s);
    let out = '';
    let count = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) {
        out += neu;
        count++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  if (n < 0) return s.split(old).join(neu);
  let out = '';
  let rest = s;
  for (let count = 0; count < n; count++) {
    const i = rest.indexOf(old);
    if (i < 0) break;
    out += rest.slice(0, i) + neu;
    rest = rest.slice(i + old.length);
  }
  return out + rest;
}

/** Go's strconv.Atoi on a 64-bit platform. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v < -(2n ** 63n) || v > 2n ** 63n - 1n) return undefined;
  return Number(v);
}

class BadPattern extends Error {}

/** Shell-style glob as envsubst's trim functions use it: `*` matches any run of characters, `/` included. */
export function globMatch(pattern: string, name: string): boolean {
  const p = Array.from(pattern);
  const s = Array.from(name);
  const classAt = (pi: number, ch: string): { matched: boolean; next: number } => {
    let i = pi + 1;
    let negate = false;
    if (p[i] === '^') {
      negate = true;
      i++;
    }
    let matched = false;
    let n = 0;
    for (;;) {
      if (i >= p.length) throw new BadPattern();
      if (p[i] === ']' && n > 0) {
        i++;
        break;
      }
      let lo = p[i]!;
      if (lo === '\\') {
        i++;
        if (i >= p.length) throw new BadPattern();
        lo = p[i]!;
      } else if (lo === '-' || lo === ']') {
        throw new BadPattern();
      }
      i++;
      let hi = lo;
      if (p[i] === '-') {
        i++;
        if (i >= p.length) throw new BadPattern();
        hi = p[i]!;
        if (hi === '\\') {
          i++;
          if (i >= p.length) throw new BadPattern();
          hi = p[i]!;
        } else if (hi === ']' || hi === '-') throw new BadPattern();
        i++;
      }
      if (lo.codePointAt(0)! <= ch.codePointAt(0)! && ch.codePointAt(0)! <= hi.codePointAt(0)!) matched = true;
      n++;
    }
    return { matched: matched !== negate, next: i };
  };
  const rec = (pi: number, si: number): boolean => {
    while (pi < p.length) {
      const c = p[pi]!;
      if (c === '*') {
        while (p[pi] === '*') pi++;
        if (pi === p.length) return true;
        for (let k = si; k <= s.length; k++) if (rec(pi, k)) return true;
        return false;
      }
      if (si >= s.length) {
        validateRest(pi);
        return false;
      }
      if (c === '?') {
        pi++;
        si++;
      } else if (c === '[') {
        const { matched, next } = classAt(pi, s[si]!);
        if (!matched) return false;
        pi = next;
        si++;
      } else if (c === '\\') {
        if (pi + 1 >= p.length) throw new BadPattern();
        if (p[pi + 1] !== s[si]) return false;
        pi += 2;
        si++;
      } else {
        if (c !== s[si]) return false;
        pi++;
        si++;
      }
    }
    return si === s.length;
  };
  const validateRest = (pi: number): void => {
    for (let i = pi; i < p.length; i++) {
      if (p[i] === '\\') {
        if (i + 1 >= p.length) throw new BadPattern();
        i++;
      } else if (p[i] === '[') {
        classAt(i, '\u0000');
        return;
      }
    }
  };
  return rec(0, 0);
}

function reverse(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimShortest(s: string, pattern: string): string {
  const chars = Array.from(s);
  let shortest = '';
  for (let i = 0; i < chars.length; i++) {
    const prefix = chars.slice(0, chars.length - i).join('');
    let m: boolean;
    try {
      m = globMatch(pattern, prefix);
    } catch {
      return s;
    }
    if (m) shortest = prefix;
  }
  return shortest !== '' ? s.slice(shortest.length) : s;
}

function trimLongest(s: string, pattern: string): string {
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; i++) {
    const prefix = chars.slice(0, chars.length - i).join('');
    let m: boolean;
    try {
      m = globMatch(pattern, prefix);
    } catch {
      return s;
    }
    if (m) return s.slice(prefix.length);
  }
  return s;
}

function substr(s: string, args: string[]): string {
  if (args.length === 0) return s;
  let pos = atoi(args[0]!);
  if (pos === undefined) return s;
  const b = Buffer.from(s, 'utf8');
  if (pos < 0) pos = Math.max(0, b.length + pos);
  if (args.length === 1) return pos < b.length ? b.subarray(pos).toString('utf8') : '';
  const length = atoi(args[1]!);
  if (length === undefined) return s;
  if (length < 0) {
    const end = b.length + length;
    if (end < pos) return '';
    return b.subarray(pos, end).toString('utf8');
  }
  if (pos + length >= b.length) return pos < b.length ? b.subarray(pos).toString('utf8') : '';
  return b.subarray(pos, pos + length).toString('utf8');
}

function firstCase(s: string, upper: boolean): string {
  if (s === '') return s;
  const first = String.fromCodePoint(s.codePointAt(0)!);
  return (upper ? first.toUpperCase() : first.toLowerCase()) + s.slice(first.length);
}

function apply(name: string, v: string, args: string[]): string {
  switch (name) {
    case ',':
      return firstCase(v, false);
    case ',,':
      return v.toLowerCase();
    case '^':
      return firstCase(v, true);
    case '^^':
      return v.toUpperCase();
    case '#':
      if (args.length === 0) return String(Buffer.byteLength(v, 'utf8'));
      return trimShortest(v, args[0]!);
    case '##':
      return args.length ? trimLongest(v, args[0]!) : v;
    case '%':
      return args.length ? reverse(trimShortest(reverse(v), reverse(args[0]!))) : v;
    case '%%':
      return args.length ? reverse(trimLongest(reverse(v), reverse(args[0]!))) : v;
    case ':':
      return substr(v, args);
    case '/#':
      if (args.length !== 2) return v;
      return v.startsWith(args[0]!) ? goReplace(v, args[0]!, args[1]!, 1) : v;
    case '/%':
      if (args.length !== 2) return v;
      return v.endsWith(args[0]!) ? v.slice(0, v.length - args[0]!.length) + args[1]! : v;
    case '/':
      return args.length === 0 ? v : goReplace(v, args[0]!, args[1] ?? '', 1);
    case '//':
      return args.length === 0 ? v : goReplace(v, args[0]!, args[1] ?? '', -1);
    default:
      // The plain ${var} and every default form.
      return v.length === 0 && args.length > 0 ? args.join('') : v;
  }
}

const DEFAULT_OPS = new Set(['-', '+', '=', '?', ':-', ':+', ':=', ':?']);

/** Returns [value, exists] for a variable name. */
export type Lookup = (name: string) => [string, boolean];

function evaluate(node: Node, lookup: Lookup): string {
  switch (node.t) {
    case 'text':
      return node.value;
    case 'list':
      return node.nodes.map((n) => evaluate(n, lookup)).join('');
    case 'func': {
      const args = node.args.map((n) => evaluate(n, lookup));
      const [v, exists] = lookup(node.param);
      if (!exists && !DEFAULT_OPS.has(node.name)) {
        throw new EnvsubstError(`variable not set (strict mode): ${JSON.stringify(node.param)}`, undefined, node.param);
      }
      return apply(node.name, v, args);
    }
  }
}

/**
 * Expands `${...}` in `input`. With `strict`, a variable missing from `vars`
 * is an error unless a default form is used; otherwise it expands to "".
 */
export function envsubst(input: string, vars: ReadonlyMap<string, string>, strict = false): string {
  const tree = new Parser(input).parse();
  return evaluate(tree, (name) => {
    const v = vars.get(name);
    if (v !== undefined) return [v, true];
    return ['', !strict];
  });
}
