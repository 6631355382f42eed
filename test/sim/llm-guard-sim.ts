// A stand-in for the LLM Guard API server (protectai/llm-guard, `llm_guard_api`), speaking its wire format, with
// knobs for the verdict, auth, latency, error statuses, malformed replies and cut connections.
//
// What it mirrors from llm_guard_api/app/app.py and schemas.py (FastAPI 0.115, as pinned by its pyproject):
// - POST /analyze/prompt {prompt, scanners_suppress?} → {is_valid, scanners, sanitized_prompt}
//   POST /analyze/output {prompt, output, scanners_suppress?} → {is_valid, scanners, sanitized_output}
//   POST /scan/prompt and /scan/output: the same without the sanitized text.
//   GET /, /healthz, /readyz without auth.
// - Bearer auth: no (or a schemeless) Authorization header → 403 "Not authenticated"; a scheme other than
//   Bearer → 403 "Invalid authentication credentials"; a wrong token → 401 "Invalid API key".
// - Errors as its exception handlers shape them: {"message": ..., "details": null}; a body that is not JSON or
//   misses fields → 422 {"message": "Validation failed", "details": [pydantic errors]}; unknown path → 404
//   "Not Found". An unhandled exception (status 500) is uvicorn's plain-text "Internal Server Error".
// - Suppressed scanners do not run, so they are absent from `scanners` and do not affect `is_valid`.

import { STATUS_CODES } from 'node:http';
import { after, createStats, nowMs, parseObject, sendBody, sendHalfAndDrop, startSimServer } from './shared.ts';
import type { Exchange, SimStats } from './shared.ts';

export type { SimStats } from './shared.ts';

export type LlmGuardKind = 'prompt' | 'output';

export interface LlmGuardSimVerdict {
  isValid: boolean;
  /** Risk score per scanner class name; LLM Guard's are in [-1, 1]. */
  scores: Record<string, number>;
  /** The text after redaction; defaults to the text itself. */
  sanitized?: string;
}

/**
 * Decides one request. `text` is the prompt for kind 'prompt' and the output for kind 'output'; `suppress` is
 * the request's scanners_suppress. Scores of suppressed scanners are removed afterwards in any case.
 */
export type LlmGuardVerdictFn = (kind: LlmGuardKind, text: string, suppress: readonly string[]) => LlmGuardSimVerdict;

export interface LlmGuardSimBehaviour {
  /** The bearer token the server requires; null runs without auth (no `auth` section in its config). */
  token: string | null;
  verdict: LlmGuardVerdictFn;
  /** Wait before answering anything. */
  latencyMs: number;
  /** When set, every request (after the latency) answers this status with the server's error body for it. */
  status: number | null;
  /**
   * Answer 200 with a broken body: 'json' is cut-off JSON, 'shape' is valid JSON of the wrong shape
   * (`is_valid` as a string, a score as a string, no sanitized text).
   */
  malformed: 'json' | 'shape' | null;
  /** Cut the connection: 'immediately' before a byte is sent, 'mid-body' after headers and half a verdict. */
  drop: 'immediately' | 'mid-body' | null;
}

export interface LlmGuardSimRequest {
  method: string;
  /** Without the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON, or null when it was empty or not JSON. */
  body: unknown;
  rawBody: string;
  /** The client's source port: equal across requests that shared a keep-alive socket. */
  remotePort: number;
  /** Epoch ms (float) when the body had been read. */
  at: number;
}

export interface LlmGuardSim {
  url: string;
  port: number;
  /** Every request received, auth failures and all, in order. */
  requests: LlmGuardSimRequest[];
  stats: SimStats;
  /** The current behaviour; read at the start of each request. */
  readonly behaviour: Readonly<LlmGuardSimBehaviour>;
  setBehaviour(patch: Partial<LlmGuardSimBehaviour>): void;
  close(): Promise<void>;
}

export interface LlmGuardSimOptions extends Partial<LlmGuardSimBehaviour> {
  port?: number;
  host?: string;
  /** Serve the API under this path, as behind a reverse proxy (e.g. '/llm-guard'); default ''. */
  pathPrefix?: string;
}

const INJECT = 'INJECT';
const SECRET = /SECRET-\w+/g;

/**
 * The default verdict: text containing "INJECT" fails PromptInjection (1.0); every `SECRET-\w+` is replaced by
 * "[REDACTED]" and fails Secrets (1.0). Clean text scores -1.0, as LLM Guard's risk scores do far below threshold.
 */
export const defaultVerdict: LlmGuardVerdictFn = (_kind, text, suppress) => {
  const scores: Record<string, number> = {};
  let isValid = true;
  let sanitized = text;
  if (!suppress.includes('PromptInjection')) {
    const hit = text.includes(INJECT);
    scores['PromptInjection'] = hit ? 1.0 : -1.0;
    if (hit) isValid = false;
  }
  if (!suppress.includes('Secrets')) {
    const redacted = text.replace(SECRET, '[REDACTED]');
    const hit = redacted !== text;
    scores['Secrets'] = hit ? 1.0 : -1.0;
    if (hit) {
      isValid = false;
      sanitized = redacted;
    }
  }
  return { isValid, scores, sanitized };
};

export const DEFAULT_BEHAVIOUR: Readonly<LlmGuardSimBehaviour> = {
  token: null,
  verdict: defaultVerdict,
  latencyMs: 0,
  status: null,
  malformed: null,
  drop: null,
};

const JSON_TYPE = 'application/json';

function messageBody(message: string, details: unknown = null): string {
  return JSON.stringify({ message, details });
}

/** What the server sends for a forced status. */
function statusReply(status: number): { type: string; body: string } {
  switch (status) {
    case 500:
      return { type: 'text/plain; charset=utf-8', body: 'Internal Server Error' };
    case 408:
      return { type: JSON_TYPE, body: messageBody('Request timeout.') };
    case 429:
      // slowapi's handler, not the app's.
      return { type: JSON_TYPE, body: JSON.stringify({ error: 'Rate limit exceeded: 100 per 1 minute' }) };
    default:
      return { type: JSON_TYPE, body: messageBody(STATUS_CODES[status] ?? `Error ${status}`) };
  }
}

interface PydanticError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
}

/** Checks a request body against the endpoint's pydantic model; the errors FastAPI would list. */
function validate(body: Record<string, unknown>, needsOutput: boolean): PydanticError[] {
  const errors: PydanticError[] = [];
  const str = (field: string): void => {
    if (!(field in body)) errors.push({ type: 'missing', loc: ['body', field], msg: 'Field required', input: body });
    else if (typeof body[field] !== 'string') errors.push({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input: body[field] });
  };
  str('prompt');
  if (needsOutput) str('output');
  const suppress = body['scanners_suppress'];
  if (suppress !== undefined) {
    if (!Array.isArray(suppress)) {
      errors.push({ type: 'list_type', loc: ['body', 'scanners_suppress'], msg: 'Input should be a valid list', input: suppress });
    } else {
      suppress.forEach((item: unknown, i) => {
        if (typeof item !== 'string') errors.push({ type: 'string_type', loc: ['body', 'scanners_suppress', i], msg: 'Input should be a valid string', input: item });
      });
    }
  }
  return errors;
}

export async function startLlmGuardSim(options: LlmGuardSimOptions = {}): Promise<LlmGuardSim> {
  const { port, host, pathPrefix: rawPrefix, ...rest } = options;
  const prefix = (rawPrefix ?? '').replace(/\/+$/, '');
  const behaviour: LlmGuardSimBehaviour = { ...DEFAULT_BEHAVIOUR };
  const setBehaviour = (patch: Partial<LlmGuardSimBehaviour>): void => {
    for (const key of Object.keys(patch) as (keyof LlmGuardSimBehaviour)[]) {
      if (patch[key] !== undefined) (behaviour as unknown as Record<string, unknown>)[key] = patch[key];
    }
  };
  setBehaviour(rest);
  const stats = createStats();
  const requests: LlmGuardSimRequest[] = [];

  const handle = (ex: Exchange): void => {
    const req = ex.req;
    let parsed: unknown = null;
    try {
      parsed = ex.body === '' ? null : JSON.parse(ex.body);
    } catch {
      parsed = null;
    }
    requests.push({
      method: req.method ?? 'GET',
      path: ex.path,
      headers: req.headers,
      body: parsed,
      rawBody: ex.body,
      remotePort: req.socket.remotePort ?? 0,
      at: nowMs(),
    });
    // Snapshot: a test changing the behaviour mid-request affects only later requests.
    const b: LlmGuardSimBehaviour = { ...behaviour };
    after(ex, b.latencyMs, () => respond(ex, b));
  };

  const respond = (ex: Exchange, b: LlmGuardSimBehaviour): void => {
    const res = ex.res;
    if (b.drop === 'immediately') {
      ex.dropped = true;
      res.socket?.destroy();
      return;
    }
    if (b.status !== null) {
      const reply = statusReply(b.status);
      return sendBody(res, b.status, reply.type, reply.body);
    }
    const method = ex.req.method ?? 'GET';
    const path = prefix !== '' && ex.path.startsWith(prefix + '/') ? ex.path.slice(prefix.length) : prefix === '' ? ex.path : null;
    if (method === 'GET' && path !== null) {
      if (path === '/') return sendBody(res, 200, JSON_TYPE, JSON.stringify({ name: 'LLM Guard API' }));
      if (path === '/healthz') return sendBody(res, 200, JSON_TYPE, JSON.stringify({ status: 'alive' }));
      if (path === '/readyz') return sendBody(res, 200, JSON_TYPE, JSON.stringify({ status: 'ready' }));
    }
    const route =
      path === '/analyze/prompt' || path === '/scan/prompt' ? 'prompt' : path === '/analyze/output' || path === '/scan/output' ? 'output' : null;
    if (route === null) return sendBody(res, 404, JSON_TYPE, messageBody('Not Found'));
    if (method !== 'POST') return sendBody(res, 405, JSON_TYPE, messageBody('Method Not Allowed'));
    const analyze = path!.startsWith('/analyze/');

    // FastAPI decodes the JSON body before it resolves dependencies, so a broken body is a 422 even without auth.
    const body = parseObject(ex.body);
    if (body === null) {
      let details: PydanticError[];
      try {
        const value: unknown = JSON.parse(ex.body);
        details = [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: value }];
      } catch {
        details = [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }];
      }
      return sendBody(res, 422, JSON_TYPE, messageBody('Validation failed', details));
    }

    if (b.token !== null) {
      const header = ex.req.headers['authorization'] ?? '';
      const space = header.indexOf(' ');
      const scheme = space < 0 ? header : header.slice(0, space);
      const credentials = space < 0 ? '' : header.slice(space + 1);
      if (header === '' || scheme === '' || credentials === '') return sendBody(res, 403, JSON_TYPE, messageBody('Not authenticated'));
      if (scheme.toLowerCase() !== 'bearer') return sendBody(res, 403, JSON_TYPE, messageBody('Invalid authentication credentials'));
      if (credentials !== b.token) return sendBody(res, 401, JSON_TYPE, messageBody('Invalid API key'));
    }

    const errors = validate(body, route === 'output');
    if (errors.length > 0) return sendBody(res, 422, JSON_TYPE, messageBody('Validation failed', errors));

    const suppress = (body['scanners_suppress'] as string[] | undefined) ?? [];
    const text = route === 'prompt' ? (body['prompt'] as string) : (body['output'] as string);
    const verdict = b.verdict(route, text, suppress);
    const scanners: Record<string, number> = {};
    for (const [name, score] of Object.entries(verdict.scores)) if (!suppress.includes(name)) scanners[name] = score;
    const payload: Record<string, unknown> = { is_valid: verdict.isValid, scanners };
    if (analyze) payload[route === 'prompt' ? 'sanitized_prompt' : 'sanitized_output'] = verdict.sanitized ?? text;

    if (b.malformed === 'json') {
      const full = JSON.stringify(payload);
      return sendBody(res, 200, JSON_TYPE, full.slice(0, Math.max(1, full.length >> 1)));
    }
    if (b.malformed === 'shape') {
      const first = Object.keys(scanners)[0] ?? 'PromptInjection';
      return sendBody(res, 200, JSON_TYPE, JSON.stringify({ is_valid: String(verdict.isValid), scanners: { ...scanners, [first]: 'high' } }));
    }
    const json = JSON.stringify(payload);
    if (b.drop === 'mid-body') return sendHalfAndDrop(ex, json, JSON_TYPE);
    sendBody(res, 200, JSON_TYPE, json);
  };

  const server = await startSimServer(stats, handle, port, host);
  return {
    url: server.url,
    port: server.port,
    requests,
    stats,
    get behaviour(): Readonly<LlmGuardSimBehaviour> {
      return behaviour;
    },
    setBehaviour,
    close: () => server.close(),
  };
}
