// Regular expressions written for Go's regexp package (RE2 syntax), run by
// JavaScript's engine: Flux reads them in Alert inclusion/exclusion lists and
// in CEL's matches(). The syntax both share is taken as is; RE2's spellings
// JavaScript lacks are translated; what RE2 refuses (backreferences,
// lookaround) is refused here too, so an expression that fails on Flux does
// not quietly work on Sluice.

/** POSIX classes RE2 takes inside brackets (`[[:alpha:]]`), as JavaScript class contents. */
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Unicode general categories, which JavaScript takes by name; any other \\p{Name} of RE2 is a script. */
const CATEGORIES = new Set(['C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs']);

/** RE2's \\pL, \\p{Greek} and \\p{^Greek} as JavaScript's \\p{L}, \\p{Script=Greek} and \\P{Script=Greek}. */
function unicodeClass(_all: string, p: string, braced: string | undefined, letter: string | undefined): string {
  let name = braced ?? letter!;
  let neg = p === 'P';
  if (name.startsWith('^')) {
    neg = !neg;
    name = name.slice(1);
  }
  const prop = CATEGORIES.has(name) || name === 'Any' ? name : `Script=${name}`;
  return `\\${neg ? 'P' : 'p'}{${prop}}`;
}

/** Throws with the message Go's regexp gives for syntax RE2 does not have. */
function refuseNonRe2(body: string): void {
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      const next = body[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) throw new SyntaxError(`Invalid regular expression: invalid escape sequence: \`\\${next}\` (RE2 has no backreferences)`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (body[i + 1] === '^') i++;
      if (body[i + 1] === ']') i++; // a leading ] is a literal
      continue;
    }
    if (c === '(' && body[i + 1] === '?') {
      const look = /^\(\?(=|!|<=|<!)/.exec(body.slice(i));
      if (look) throw new SyntaxError(`Invalid regular expression: invalid or unsupported Perl syntax: \`(?${look[1]}\` (RE2 has no lookaround)`);
    }
  }
}

/**
 * Compiles a regular expression written for Go's regexp (RE2). Go's leading
 * inline flags `(?i)`, `(?s)`, `(?m)` become JavaScript flags; `\z` and `\A`,
 * `(?P<name>...)` and POSIX classes are translated. Throws SyntaxError on
 * what does not compile, or what RE2 would refuse.
 */
export function compileGoRegexp(expr: string): RegExp {
  let flags = 'u';
  let body = expr;
  const m = /^\(\?([ims]+)\)/.exec(body);
  if (m) {
    flags += m[1]!.split('').filter((f, i, a) => a.indexOf(f) === i).join('');
    body = body.slice(m[0].length);
  }
  refuseNonRe2(body);
  body = body
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '^')
    .replace(/\(\?P</g, '(?<')
    .replace(/\\([pP])(?:\{(\^?[A-Za-z_]+)\}|([A-Z]))/g, unicodeClass)
    .replace(/\[:(\^?)([a-z]+):\]/g, (all, neg: string, name: string) => {
      const set = POSIX[name];
      if (!set) throw new SyntaxError(`Invalid regular expression: invalid character class range: \`${all}\``);
      // Inside a bracket expression; a negated POSIX class only as a whole bracket.
      return neg ? `^${set}` : set;
    });
  return new RegExp(body, flags);
}

const compiled = new Map<string, RegExp>();
const COMPILED_LIMIT = 512;

/** compileGoRegexp with a bounded cache: CEL's matches() is called once per object evaluated. */
export function cachedGoRegexp(expr: string): RegExp {
  let re = compiled.get(expr);
  if (!re) {
    re = compileGoRegexp(expr);
    if (compiled.size >= COMPILED_LIMIT) compiled.delete(compiled.keys().next().value!);
    compiled.set(expr, re);
  }
  return re;
}
