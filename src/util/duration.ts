const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/**
 * Parses a Go duration ("5m", "1h30m", "90s", "250ms"), the format of every
 * interval and timeout in Flux's APIs, into milliseconds.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!s || matched !== s.length) throw new Error(`invalid duration "${text}": use a Go duration such as 30s, 5m or 1h30m`);
  return total;
}

/** Formats milliseconds as a Go duration, e.g. 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Number.isInteger(rest) ? String(rest) : rest.toFixed(3).replace(/0+$/, '');
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}
