export type Level = 'debug' | 'info' | 'error';

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

const order: Record<Level, number> = { debug: 0, info: 1, error: 2 };

/** Structured JSON logs, one object per line, as Flux's controllers write them. */
export function jsonLogger(
  base: Record<string, unknown> = {},
  level: Level = (process.env.SLUICE_LOG_LEVEL as Level) || 'info',
  out: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    const rec: Record<string, unknown> = { level: lvl, ts: new Date().toISOString(), msg, ...base, ...fields };
    if (rec.error instanceof Error) rec.error = rec.error.message;
    out(`${JSON.stringify(rec)}\n`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    error: (m, f) => emit('error', m, f),
    debug: (m, f) => emit('debug', m, f),
    with: (f) => jsonLogger({ ...base, ...f }, level, out),
  };
}

/**
 * Logs as zap's console encoder does (Flux's --log-encoding=console): time,
 * level, message and the fields as JSON, tab-separated, for people reading a
 * terminal rather than a log pipeline.
 */
export function consoleLogger(
  base: Record<string, unknown> = {},
  level: Level = 'info',
  out: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    const rest: Record<string, unknown> = { ...base, ...fields };
    if (rest.error instanceof Error) rest.error = rest.error.message;
    const tail = Object.keys(rest).length ? `\t${JSON.stringify(rest)}` : '';
    out(`${new Date().toISOString()}\t${lvl.toUpperCase()}\t${msg}${tail}\n`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    error: (m, f) => emit('error', m, f),
    debug: (m, f) => emit('debug', m, f),
    with: (f) => consoleLogger({ ...base, ...f }, level, out),
  };
}

export const silentLogger: Logger = {
  info: () => {},
  error: () => {},
  debug: () => {},
  with: () => silentLogger,
};
