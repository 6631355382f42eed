// Process logger: one line per event on stderr. Never pass secrets (api keys, auth headers) in fields.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** `json` writes one JSON object per line (for log shippers); `text` writes `level message k=v`. */
export function createLogger(level: LogLevel = 'info', format: 'text' | 'json' = 'text', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, message: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (RANK[lvl] < min) return;
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: message, ...fields }) + '\n');
      return;
    }
    let line = `${lvl}: ${escapeLogText(message)}`;
    if (fields !== undefined) for (const key of Object.keys(fields)) line += ` ${key}=${formatValue(fields[key])}`;
    write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/**
 * C0 and C1 controls, DEL and the Unicode line separators: a request's text (a model name, a path) holding one could
 * end a text log line early and write a line of its own.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** CONTROL and the backslash, which is escaped too so an escape in the log cannot be confused with the text. */
const ESCAPED = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** A value with one of these is quoted (as a JSON string) so the line still splits into `key=value` pairs. */
const NEEDS_QUOTES = /[\s"=\\\u0000-\u001f\u007f-\u009f]/;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeChar(char: string): string {
  return NAMED_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Text for one log line: control characters become escapes (`\n`, `\u001b`), a backslash `\\`. */
export function escapeLogText(text: string): string {
  return text.replace(ESCAPED, escapeChar);
}

/** JSON escapes C0 controls, but not DEL, C1 or the line separators. */
function jsonForLine(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined').replace(CONTROL, escapeChar);
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? jsonForLine(value) : value;
  if (value instanceof Error) return jsonForLine(value.message);
  return jsonForLine(value);
}
