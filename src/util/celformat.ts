// cel-go's `string.format(list)` (ext.Strings, which Flux turns on), for
// health-check messages and readyExprs: `'%s has %d of %d'.format([n, a, b])`.
// The verbs are cel-go's: %s (any value, as CEL prints it), %d (integers),
// %f and %e (numbers, precision `%.2f`, 6 by default), %b, %o, %x, %X
// (integers; %x and %X also strings and bytes, as hex of their bytes), and
// %% for a percent sign. A verb that does not fit its argument, too few or
// too many arguments: an error naming the position, as cel-go's.

/** CEL's text for a value, as `string()` and %s give it. */
export function celText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e21 ? `${v}` : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  if (Array.isArray(v)) return `[${v.map(celText).join(', ')}]`;
  if (v instanceof Map) return `{${[...v.entries()].map(([k, x]) => `${celText(k)}: ${celText(x)}`).join(', ')}}`;
  if (typeof v === 'object') {
    // Durations and other library values print themselves.
    const s = String(v);
    if (s !== '[object Object]') return s;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${celText(x)}`).join(', ')}}`;
  }
  return String(v);
}

const isInt = (v: unknown): v is bigint | number => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
const isNum = (v: unknown): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

function hex(v: unknown, upper: boolean, i: number): string {
  let out: string;
  if (isInt(v)) out = (BigInt(v) < 0n ? '-' : '') + (BigInt(v) < 0n ? -BigInt(v) : BigInt(v)).toString(16);
  else if (typeof v === 'string') out = Buffer.from(v, 'utf8').toString('hex');
  else if (v instanceof Uint8Array) out = Buffer.from(v).toString('hex');
  else throw new Error(`error during formatting: only integers, byte buffers, and strings can be formatted as hex, was given ${typeName(v)} (argument ${i})`);
  return upper ? out.toUpperCase() : out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null_type';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  return 'map';
}

export function celFormat(template: string, args: unknown[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (template[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^(?:\.(\d+))?([sdfeboxX])/.exec(template.slice(i + 1));
    if (!m) throw new Error(`could not parse formatting clause: unrecognized formatting clause "${template.slice(i, i + 2)}"`);
    i += m[0].length;
    if (next >= args.length) throw new Error(`index ${next} out of range`);
    const v = args[next];
    const pos = next++;
    const precision = m[1] === undefined ? 6 : Number(m[1]);
    switch (m[2]) {
      case 's':
        out += celText(v);
        break;
      case 'd':
        if (!isInt(v) || typeof v === 'number') {
          if (typeof v !== 'bigint') throw new Error(`error during formatting: decimal clause can only be used on integers, was given ${typeName(v)} (argument ${pos})`);
        }
        out += String(v);
        break;
      case 'f':
      case 'e':
        if (!isNum(v)) throw new Error(`error during formatting: ${m[2] === 'f' ? 'fixed-point' : 'scientific'} clause can only be used on doubles, was given ${typeName(v)} (argument ${pos})`);
        out += m[2] === 'f' ? Number(v).toFixed(precision) : Number(v).toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
        break;
      case 'b':
        if (typeof v === 'boolean') out += v ? '1' : '0';
        else if (isInt(v)) out += (BigInt(v) < 0n ? '-' : '') + (BigInt(v) < 0n ? -BigInt(v) : BigInt(v)).toString(2);
        else throw new Error(`error during formatting: only integers and bools can be formatted as binary, was given ${typeName(v)} (argument ${pos})`);
        break;
      case 'o':
        if (!isInt(v)) throw new Error(`error during formatting: octal clause can only be used on integers, was given ${typeName(v)} (argument ${pos})`);
        out += (BigInt(v) < 0n ? '-' : '') + (BigInt(v) < 0n ? -BigInt(v) : BigInt(v)).toString(8);
        break;
      case 'x':
      case 'X':
        out += hex(v, m[2] === 'X', pos);
        break;
    }
  }
  if (next < args.length) throw new Error(`too many arguments supplied to string.format (expected ${next}, got ${args.length})`);
  return out;
}
