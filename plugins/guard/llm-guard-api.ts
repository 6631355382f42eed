// A client for a remote LLM Guard API server (protectai/llm-guard, folder `llm_guard_api`).
//
// Wire format, as served by llm_guard_api/app/app.py with the models of llm_guard_api/app/schemas.py:
//
//   POST {base}/analyze/prompt   {"prompt": str, "scanners_suppress": [str]}
//        → 200 {"is_valid": bool, "scanners": {name: float}, "sanitized_prompt": str}
//   POST {base}/analyze/output   {"prompt": str, "output": str, "scanners_suppress": [str]}
//        → 200 {"is_valid": bool, "scanners": {name: float}, "sanitized_output": str}
//
// `scanners` maps a scanner's class name to its risk score in [-1, 1] (negative: below the scanner's threshold).
// `scanners_suppress` lists scanner class names that are skipped for this request. With `auth.type: http_bearer`
// the server wants `Authorization: Bearer <token>`: a wrong token answers 401 {"message": "Invalid API key"}, a
// missing header 403 {"message": "Not authenticated"} (FastAPI < 0.122). Other errors are
// {"message": str, "details": ...}: 408 when the scanners outrun the server's own timeout, 422 for a bad body.
// The `/scan/*` variants answer without the sanitized text; they are not used here.

import type { Dispatcher } from 'undici';
import { errorCode, Pool } from '../../core/plugin/api.ts';

export interface LlmGuardApiOptions {
  /** The API's base URL, optionally with a path prefix: `http://guard:8000` or `https://host/llm-guard`. */
  url: string;
  /** Bearer token; null, undefined or '' sends no Authorization header. */
  token?: string | null;
  /** Total deadline per call, connect to last body byte, in ms. */
  timeoutMs: number;
}

export interface LlmGuardVerdict {
  /** True when every scanner that ran passed. */
  isValid: boolean;
  /** Risk score per scanner class name, in [-1, 1]. */
  scores: Record<string, number>;
  /** `sanitized_prompt` or `sanitized_output`: the text with the scanners' redactions applied. */
  sanitized: string;
}

export type LlmGuardApiErrorKind = 'timeout' | 'http' | 'network' | 'protocol';

/** A failed call. The message names the endpoint and the cause, never the token. */
export class LlmGuardApiError extends Error {
  readonly kind: LlmGuardApiErrorKind;
  /** The HTTP status for kind 'http' (and for 'protocol' errors on a 2xx answer); null otherwise. */
  readonly status: number | null;

  constructor(kind: LlmGuardApiErrorKind, message: string, status: number | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LlmGuardApiError';
    this.kind = kind;
    this.status = status;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
/** Error bodies are only read for their message; anything longer is cut off. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** The longest message quoted from an error body. */
const ERROR_MESSAGE_CHARS = 200;
/**
 * A verdict echoes the text back once, plus scores. Allow four times the request's bytes (room for \uXXXX escapes
 * of what we sent as UTF-8), and at least this floor.
 */
const BODY_LIMIT_FLOOR = 1024 * 1024;
/**
 * uvicorn closes idle keep-alive sockets after 5 s by default; undici's 4 s keeps us from reusing one it is about
 * to close (a POST on such a socket fails and is not retried).
 */
const KEEP_ALIVE_MS = 4_000;

/** Thrown into the request when our own deadline passes. */
const DEADLINE = Symbol('llm-guard-deadline');

export class LlmGuardApiClient {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  readonly #promptPath: string;
  readonly #outputPath: string;
  /** `origin + prefix` and the origin alone, for messages. */
  readonly #where: string;
  readonly #origin: string;
  /** The token, only to scrub it from quoted server messages; never put into an error. */
  readonly #token: string | null;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: LlmGuardApiOptions) {
    const { url, timeoutMs } = options;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError('LLM Guard API: timeoutMs must be a positive number of milliseconds.');
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError('LLM Guard API: url is not a valid absolute URL.');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`LLM Guard API: url must be http or https, not ${parsed.protocol}`);
    }
    // Credentials in the URL would end up in messages; the token has its own option.
    if (parsed.username !== '' || parsed.password !== '') {
      throw new TypeError('LLM Guard API: url must not contain credentials; use the token option.');
    }
    if (parsed.search !== '' || parsed.hash !== '') {
      throw new TypeError('LLM Guard API: url must not have a query string or fragment.');
    }
    const token = options.token ?? null;
    if (token !== null && token !== '' && !/^[\x21-\x7e]+$/.test(token)) {
      throw new TypeError('LLM Guard API: token must be printable ASCII without spaces.');
    }
    // `new URL` normalises the path; strip trailing slashes so `/llm-guard/` and `/llm-guard` join the same way.
    const prefix = parsed.pathname.replace(/\/+$/, '');
    this.#promptPath = `${prefix}/analyze/prompt`;
    this.#outputPath = `${prefix}/analyze/output`;
    this.#origin = parsed.origin;
    this.#where = parsed.origin + prefix;
    this.#timeoutMs = timeoutMs;
    this.#token = token === '' ? null : token;
    this.#headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#token !== null) this.#headers['authorization'] = `Bearer ${this.#token}`;
    this.#pool = new Pool(parsed.origin, {
      keepAliveTimeout: KEEP_ALIVE_MS,
      // Our own deadline covers the whole call; undici's timers are only a backstop.
      connectTimeout: Math.ceil(timeoutMs) + 5_000,
      headersTimeout: Math.ceil(timeoutMs) + 5_000,
      bodyTimeout: Math.ceil(timeoutMs) + 5_000,
      pipelining: 1,
    });
  }

  /** Runs the server's input scanners on `prompt`. `suppress` names scanners (class names) to skip. */
  analyzePrompt(prompt: string, signal?: AbortSignal, suppress?: readonly string[]): Promise<LlmGuardVerdict> {
    const body = JSON.stringify({ prompt, scanners_suppress: suppress === undefined ? [] : [...suppress] });
    return this.#call(this.#promptPath, body, 'sanitized_prompt', signal);
  }

  /** Runs the server's output scanners on `output`, given the `prompt` that produced it. */
  analyzeOutput(prompt: string, output: string, signal?: AbortSignal, suppress?: readonly string[]): Promise<LlmGuardVerdict> {
    const body = JSON.stringify({ prompt, output, scanners_suppress: suppress === undefined ? [] : [...suppress] });
    return this.#call(this.#outputPath, body, 'sanitized_output', signal);
  }

  /** Closes the pool's sockets; later calls fail with kind 'network'. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close().catch(() => this.#pool.destroy());
  }

  async #call(path: string, body: string, sanitizedField: string, signal: AbortSignal | undefined): Promise<LlmGuardVerdict> {
    // A caller's abort is not an API failure: like fetch, reject with the signal's reason.
    signal?.throwIfAborted();
    const endpoint = this.#origin + path;
    if (this.#closed) throw new LlmGuardApiError('network', `LLM Guard API client for ${this.#where} is closed.`);

    const controller = new AbortController();
    let timedOut = false;
    let response: Dispatcher.ResponseData | null = null;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(DEADLINE);
      response?.body.destroy();
    }, this.#timeoutMs);
    const onAbort = (): void => {
      controller.abort(signal!.reason);
      response?.body.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      let status: number;
      let text: string;
      try {
        response = await this.#pool.request({ path, method: 'POST', headers: this.#headers, body, signal: controller.signal });
        status = response.statusCode;
        const ok = status >= 200 && status < 300;
        text = await readText(response.body, ok ? Math.max(BODY_LIMIT_FLOOR, 4 * Buffer.byteLength(body) + 64 * 1024) : ERROR_BODY_LIMIT, !ok);
        // A body cut short by our own destroy() must not be parsed as if it were complete.
        if (timedOut || signal?.aborted === true) throw DEADLINE;
      } catch (error) {
        if (signal?.aborted === true) throw signal.reason;
        if (timedOut || TIMEOUT_CODES.has(errorCode(error))) {
          throw new LlmGuardApiError('timeout', `LLM Guard API at ${endpoint} did not answer within ${this.#timeoutMs} ms.`);
        }
        if (error instanceof LlmGuardApiError) throw error;
        const code = errorCode(error);
        throw new LlmGuardApiError('network', `LLM Guard API at ${endpoint} failed: ${describe(code)}.`, null, { cause: scrubbed(error) });
      }

      if (status < 200 || status >= 300) {
        const detail = this.#errorMessage(text);
        throw new LlmGuardApiError('http', `LLM Guard API at ${endpoint} answered ${status}${detail === '' ? '' : `: ${detail}`}`, status);
      }
      return parseVerdict(text, sanitizedField, endpoint, status);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The server's own message from an error body (`message`, slowapi's `error`, FastAPI's `detail`), token scrubbed. */
  #errorMessage(text: string): string {
    let message = '';
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null) {
        const v = value as Record<string, unknown>;
        const m = v['message'] ?? v['error'] ?? v['detail'];
        if (typeof m === 'string') message = m;
      }
    } catch {
      // Not JSON (e.g. uvicorn's plain "Internal Server Error"): quote the text itself.
      message = text;
    }
    message = message.replace(/\s+/g, ' ').trim();
    if (this.#token !== null) message = message.split(this.#token).join('***');
    return message.length > ERROR_MESSAGE_CHARS ? message.slice(0, ERROR_MESSAGE_CHARS) + '…' : message;
  }
}

/** Reads a body as UTF-8. Past `limit` bytes: truncate when `truncate`, else fail as a protocol error. */
async function readText(body: Dispatcher.ResponseData['body'], limit: number, truncate: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      if (truncate) {
        chunks.push(buf.subarray(0, buf.length - (size - limit)));
        break;
      }
      throw new LlmGuardApiError('protocol', `LLM Guard API response is larger than ${limit} bytes.`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseVerdict(text: string, sanitizedField: string, endpoint: string, status: number): LlmGuardVerdict {
  const fail = (what: string): LlmGuardApiError => new LlmGuardApiError('protocol', `LLM Guard API at ${endpoint} sent ${what}.`, status);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('a body that is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('a body that is not a JSON object');
  const v = value as Record<string, unknown>;
  const isValid = v['is_valid'];
  if (typeof isValid !== 'boolean') throw fail('no boolean "is_valid"');
  const sanitized = v[sanitizedField];
  if (typeof sanitized !== 'string') throw fail(`no string "${sanitizedField}"`);
  const scanners = v['scanners'];
  if (typeof scanners !== 'object' || scanners === null || Array.isArray(scanners)) throw fail('no object "scanners"');
  for (const name in scanners) {
    const score = (scanners as Record<string, unknown>)[name];
    if (typeof score !== 'number' || !Number.isFinite(score)) throw fail(`a non-numeric score for scanner "${name.slice(0, 64)}"`);
  }
  // JSON.parse made a fresh object with own properties only (a "__proto__" key included): safe to hand out as is.
  const scores = scanners as Record<string, number>;
  return { isValid, scores, sanitized };
}

function describe(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return `connection closed by the server (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code})`;
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return `client closed (${code})`;
    default:
      return code === '' ? 'unknown transport error' : code;
  }
}

/**
 * The transport error as a cause, without anything request-specific. undici's errors carry no request headers,
 * but a cause is printed by util.inspect, so keep only name, code and message.
 */
function scrubbed(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const copy = new Error(error.message);
  copy.name = error.name;
  const code = errorCode(error);
  if (code !== '') (copy as Error & { code?: string }).code = code;
  return copy;
}
