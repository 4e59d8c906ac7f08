// CEL's matches() with RE2's syntax, as cel-go has it. The CEL library runs
// matches() with a bare JavaScript RegExp and will not let its own overload
// be replaced (a second one "overlaps"); so before an expression is parsed,
// each call of `matches` is renamed to a function of Sluice's own, which
// compiles the pattern as Go would (util/goregexp.ts). The rename is done on
// the expression's tokens, never inside string literals or comments, so the
// text an expression matches against is never touched.
import type { Environment } from '@marcbachmann/cel-js';
import { cachedGoRegexp } from './goregexp.ts';

/** The name matches() calls are given; not one a Kubernetes object or a Flux expression uses. */
export const RE2_MATCHES = 'sluice_re2_matches';

function re2Matches(s: string, pattern: string): boolean {
  let re: RegExp;
  try {
    re = cachedGoRegexp(pattern);
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  re.lastIndex = 0;
  return re.test(s);
}

/** Registers the RE2 matches() under its own name, as a method of string and as a function. */
export function registerRe2Matches(env: Environment): Environment {
  return env
    .registerFunction(`string.${RE2_MATCHES}(string): bool`, re2Matches)
    .registerFunction(`${RE2_MATCHES}(string, string): bool`, re2Matches);
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;

/** The end (exclusive) of the string literal starting at i: '…', "…", triple-quoted, raw (r'…') or bytes (b'…') prefixes handled by the caller. */
function literalEnd(expr: string, i: number, raw: boolean): number {
  const q = expr[i]!;
  const triple = expr.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  let j = i + close.length;
  while (j < expr.length) {
    if (!raw && expr[j] === '\\') {
      j += 2;
      continue;
    }
    if (expr.startsWith(close, j)) return j + close.length;
    if (!triple && expr[j] === '\n') return j; // unterminated: the parser will say so
    j++;
  }
  return expr.length;
}

/** The expression with every call of `matches(` renamed to the RE2 function; the rest byte for byte. */
export function renameMatchesCalls(expr: string): string {
  if (!expr.includes('matches')) return expr;
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'") {
      const end = literalEnd(expr, i, false);
      out += expr.slice(i, end);
      i = end;
    } else if (c === '/' && expr[i + 1] === '/') {
      const end = expr.indexOf('\n', i);
      const stop = end < 0 ? expr.length : end;
      out += expr.slice(i, stop);
      i = stop;
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < expr.length && IDENT.test(expr[j]!)) j++;
      const word = expr.slice(i, j);
      // r'…', R"…", b'…', rb'…': a string literal with a prefix.
      if (/^(r|R|b|B|rb|rB|Rb|RB|br|bR|Br|BR)$/.test(word) && (expr[j] === '"' || expr[j] === "'")) {
        const end = literalEnd(expr, j, /r/i.test(word));
        out += expr.slice(i, end);
        i = end;
        continue;
      }
      const after = /^\s*\(/.test(expr.slice(j));
      out += word === 'matches' && after ? RE2_MATCHES : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
