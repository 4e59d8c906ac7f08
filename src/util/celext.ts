// The CEL extension libraries Flux turns on (cel-go's ext.Strings, ext.Sets
// and ext.Encoders, in fluxcd/pkg runtime/cel) where @marcbachmann/cel-js
// lacks them. The library already has most of ext.Strings (indexOf,
// lastIndexOf, lowerAscii, upperAscii, split, substring, trim, join); what is
// added here is the rest that health checks can use, and the namespaced
// functions (`sets.contains(...)`, `base64.decode(...)`, `strings.quote(...)`).
//
// The library parses `sets.contains(a, b)` as a method call on a variable
// `sets`; so each namespace is a constant of its own type, and its functions
// are methods of that type. A Kubernetes object has no top-level field named
// sets, base64 or strings, so nothing an expression reads is hidden by them.
import type { Environment } from '@marcbachmann/cel-js';
import { celFormat } from './celformat.ts';
import { registerRe2Matches } from './celmatches.ts';

class SetsLibrary {}
class Base64Library {}
class StringsLibrary {}

/** CEL's equality for the values a Kubernetes object holds: numbers equal across int and double. */
function celEqual(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    // 1 == 1.0 in CEL; bigint and number compare by value with ==.
    return a == b;
  }
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in b && celEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const within = (list: unknown[], x: unknown) => list.some((y) => celEqual(x, y));

/** Code points, so that reverse and charAt treat a character outside the BMP as one, as cel-go does. */
const codePoints = (s: string) => Array.from(s);

/** Registers Flux's extension functions that the library does not have. Returns the environment. */
export function registerFluxExtensions(env: Environment): Environment {
  return registerRe2Matches(env)
    .registerType('SetsLibrary', SetsLibrary)
    .registerConstant('sets', 'SetsLibrary', new SetsLibrary())
    .registerFunction('SetsLibrary.contains(list, list): bool', (_: SetsLibrary, a: unknown[], b: unknown[]) => b.every((x) => within(a, x)))
    .registerFunction('SetsLibrary.equivalent(list, list): bool', (_: SetsLibrary, a: unknown[], b: unknown[]) =>
      a.every((x) => within(b, x)) && b.every((x) => within(a, x)),
    )
    .registerFunction('SetsLibrary.intersects(list, list): bool', (_: SetsLibrary, a: unknown[], b: unknown[]) => a.some((x) => within(b, x)))
    .registerType('Base64Library', Base64Library)
    .registerConstant('base64', 'Base64Library', new Base64Library())
    .registerFunction('Base64Library.encode(bytes): string', (_: Base64Library, b: Uint8Array) => Buffer.from(b).toString('base64'))
    .registerFunction('Base64Library.decode(string): bytes', (_: Base64Library, s: string) => new Uint8Array(Buffer.from(s, 'base64')))
    .registerType('StringsLibrary', StringsLibrary)
    .registerConstant('strings', 'StringsLibrary', new StringsLibrary())
    .registerFunction('StringsLibrary.quote(string): string', (_: StringsLibrary, s: string) => JSON.stringify(s))
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      const chars = codePoints(s);
      const n = Number(i);
      if (n < 0 || n > chars.length) throw new Error(`index out of range: ${n}`);
      return chars[n] ?? '';
    })
    .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) => s.split(from).join(to))
    .registerFunction('string.replace(string, string, int): string', (s: string, from: string, to: string, limit: bigint) => {
      const parts = s.split(from);
      const n = Number(limit);
      if (n < 0 || parts.length - 1 <= n) return parts.join(to);
      return parts.slice(0, n + 1).join(to) + from + parts.slice(n + 1).join(from);
    })
    .registerFunction('string.reverse(): string', (s: string) => codePoints(s).reverse().join(''))
    .registerFunction('string.format(list): string', (s: string, args: unknown[]) => celFormat(s, args));
}
