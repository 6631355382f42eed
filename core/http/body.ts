// Request body: read (and decode) with a byte limit and a deadline, parse JSON, check the fields each endpoint needs.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createZstdDecompress } from 'node:zlib';
import { SluiceError } from '../errors.ts';
import type { Endpoint } from '../config/models.ts';
import { headerList } from './headers.ts';

/** `Content-Encoding` tokens a request body may carry, and the stream that decodes each. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => createGunzip(),
  'x-gzip': () => createGunzip(),
  deflate: () => createInflate(),
  br: () => createBrotliDecompress(),
  zstd: () => createZstdDecompress(),
};

/**
 * Reads the whole body, decoded when it has a `Content-Encoding` (gzip, deflate, br, zstd, in any sequence). Rejects
 * with 413 as soon as the declared, received or decoded size passes `limit` (a declared Content-Length over the
 * limit is refused before reading a byte; a decompression bomb is stopped at the limit, never held whole), with 415
 * for an encoding it cannot decode, and with 408 when the client is too slow.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => readBodyThen(req, limit, timeoutMs, (error, body) => (error === null ? resolve(body) : reject(error))));
}

/** What `readBodyThen` calls once: with the body, or with the error `readBody` would reject with. */
export type BodyCallback = (error: SluiceError | null, body: Buffer) => void;

/**
 * `readBody` with a callback: the proxied request's path reads its body without a promise and an await. `done` may
 * be called before this returns (a body refused on its headers).
 */
export function readBodyThen(req: IncomingMessage, limit: number, timeoutMs: number, done: BodyCallback): void {
  if (declaresMoreThan(req.headers, limit)) return done(tooLarge(limit), EMPTY_BODY);
  let decoders: Transform[] = [];
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined) {
    const codings = headerList(encoding).filter((coding) => coding !== 'identity');
    const unknown = codings.find((coding) => !Object.hasOwn(DECODERS, coding));
    if (unknown !== undefined) {
      return done(
        new SluiceError('SLUICE_UNSUPPORTED_CONTENT_ENCODING', `The Content-Encoding of the request body '${unknown}' is not supported; send it uncompressed, or as gzip, deflate, br or zstd.`, {
          details: { encoding: unknown },
        }),
        EMPTY_BODY,
      );
    }
    // The last coding listed was applied last: it is undone first.
    decoders = codings.reverse().map((coding) => DECODERS[coding]!());
  }
  const chunks: Buffer[] = [];
  let received = 0;
  let size = 0;
  let settled = false;
  let timer: NodeJS.Timeout | null = null;
  const first = decoders[0];
  const last = decoders.at(-1);
  const cleanup = (): void => {
    settled = true;
    if (timer !== null) clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    for (const decoder of decoders) decoder.destroy();
  };
  const fail = (error: SluiceError): void => {
    if (settled) return;
    cleanup();
    req.pause();
    done(error, EMPTY_BODY);
  };
  const keep = (chunk: Buffer): void => {
    if (settled) return;
    size += chunk.length;
    if (size > limit) return fail(tooLarge(limit));
    chunks.push(chunk);
  };
  const finish = (): void => {
    if (settled) return;
    cleanup();
    done(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) return fail(tooLarge(limit));
    if (first === undefined) return keep(chunk);
    // Decoding runs off the main thread: the socket waits while the decoder is behind.
    if (!first.write(chunk)) {
      req.pause();
      first.once('drain', () => settled || req.resume());
    }
  };
  const onError = (error: Error): void => fail(new SluiceError('SLUICE_INVALID_PARAM', 'The request body could not be read.', { cause: error }));
  // A client that leaves mid-body: over HTTP/1.1 the request emits 'error' (ECONNRESET); an HTTP/2 stream that is
  // reset ends instead, with `aborted` set and only part of the body read.
  const onEnd = (): void => {
    if (req.aborted) return onError(new Error('client aborted'));
    if (first === undefined) finish();
    else first.end();
  };
  for (let i = 0; i < decoders.length; i++) {
    const decoder = decoders[i]!;
    const next = decoders[i + 1];
    decoder.on('error', (error: Error) =>
      fail(new SluiceError('SLUICE_INVALID_PARAM', `The request body could not be decoded (Content-Encoding: ${String(encoding)}).`, { cause: error })),
    );
    if (next !== undefined) decoder.pipe(next);
  }
  if (last !== undefined) {
    last.on('data', keep);
    last.on('end', finish);
  }
  if (timeoutMs > 0) {
    timer = setTimeout(() => {
      fail(new SluiceError('SLUICE_CLIENT_TIMEOUT', `The request body was not received within ${timeoutMs / 1000} s.`, { details: { timeout_s: timeoutMs / 1000 } }));
    }, timeoutMs);
  }
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

const EMPTY_BODY = Buffer.alloc(0);

/** Whether the request declares a Content-Length over `limit`: such a body is refused before a byte of it is read. */
export function declaresMoreThan(headers: IncomingHttpHeaders, limit: number): boolean {
  const declared = headers['content-length'];
  return declared !== undefined && Number(declared) > limit;
}

/** The most of a refused body that is still read and thrown away before the connection is cut (see `discardBody`). */
export const DISCARD_LIMIT = 64 * 1024 ** 2;

/**
 * After an answer to a request whose body was not read to the end (413, a body that could not be decoded): reads
 * and discards the rest, so a client that sends its whole request before reading (Python's httpx, most clients on a
 * real network) finds the answer instead of a reset connection, and the connection stays usable. Closing at once
 * would reset it under the upload. Past `maxBytes` or `timeoutMs` (0 = no deadline) the connection is cut once the
 * answer is out, as nginx's lingering close does.
 */
export function discardBody(req: IncomingMessage, res: ServerResponse, maxBytes: number, timeoutMs: number): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  let timer: NodeJS.Timeout | null = null;
  const cleanup = (): void => {
    if (timer !== null) clearTimeout(timer);
    req.off('data', onData);
    req.off('end', cleanup);
    req.off('close', cleanup);
  };
  const cut = (): void => {
    cleanup();
    // Still reading meanwhile, so the answer is not reset under the client before it leaves.
    req.resume();
    if (res.writableFinished || res.destroyed) req.destroy();
    else res.once('finish', () => req.destroy());
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > maxBytes) cut();
  };
  if (timeoutMs > 0) timer = setTimeout(cut, timeoutMs);
  req.on('data', onData);
  req.on('end', cleanup);
  req.on('close', cleanup);
  req.resume();
}

export function tooLarge(limit: number): SluiceError {
  return new SluiceError('SLUICE_BODY_TOO_LARGE', `The request body is larger than the limit of ${limit} bytes.`, { details: { limit } });
}

/**
 * Deepest nesting of arrays and objects a request body may have. Deeper bodies are refused before they are parsed:
 * anything that walks a parsed body recursively (JSON.stringify, a plugin) would overflow the stack. Real requests
 * (tool schemas included) stay far below it.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Bytes that are not UTF-8 (decoded as U+FFFD) or control characters JSON text never has outside strings. */
// eslint-disable-next-line no-control-regex
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;

/** Parses a JSON object body. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new SluiceError('SLUICE_INVALID_JSON', 'The request body is empty; expected a JSON object.');
  const text = raw.toString('utf8');
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new SluiceError('SLUICE_INVALID_JSON', `The request body nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels.`, {
      details: { max_depth: MAX_JSON_DEPTH },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message quotes the body; bytes that are not text (a compressed body without its
    // Content-Encoding, say) are not echoed back.
    if (BINARY.test(text)) {
      throw new SluiceError('SLUICE_INVALID_JSON', 'The request body is not valid JSON: it holds bytes that are not text (a compressed body needs its Content-Encoding header).');
    }
    throw new SluiceError('SLUICE_INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SluiceError('SLUICE_INVALID_JSON', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * Whether `text` nests arrays and objects deeper than `limit`, counting brackets outside strings. Most bodies have
 * fewer brackets in all than the limit, which a few indexOf calls show; only the others are scanned, skipping
 * strings with indexOf. Malformed JSON is left to JSON.parse.
 */
function nestsDeeperThan(text: string, limit: number): boolean {
  let openers = 0;
  for (let i = text.indexOf('{'); i !== -1 && openers <= limit; i = text.indexOf('{', i + 1)) openers++;
  for (let i = text.indexOf('['); i !== -1 && openers <= limit; i = text.indexOf('[', i + 1)) openers++;
  if (openers <= limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      // To the closing quote: one not escaped by an odd number of backslashes.
      let backslashes: number;
      do {
        i = text.indexOf('"', i + 1);
        if (i === -1) return false;
        backslashes = 0;
        while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
      } while (backslashes % 2 === 1);
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote that closes the string opened at `open` in the bytes of a body, or -1 when it is never closed. */
function stringEnd(raw: Buffer, open: number): number {
  let i = open;
  for (;;) {
    i = raw.indexOf(QUOTE, i + 1);
    if (i === -1) return -1;
    // A quote after an odd number of backslashes is escaped.
    let backslashes = 0;
    while (raw[i - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}

const MODEL_KEY = Buffer.from('model');
const MODEL_KEY_END = Buffer.from('model"');
const UNICODE_ESCAPE = Buffer.from('\\u');

/**
 * The body with every top-level string value of `model` set to `model`, and every other byte as the client sent
 * it. Re-serializing the parsed body instead would cost time and change numbers, escapes and spacing. `raw` must be
 * a JSON object that parsed; duplicate `model` keys are all replaced, so no backend reads the client's value.
 */
export function replaceModel(raw: Buffer, model: string): Buffer {
  const parts: Buffer[] = [];
  const value = Buffer.from(JSON.stringify(model));
  let copied = 0;
  let depth = 0;
  // In the top-level object: whether the next string is a key, and whether the current key is `model`.
  let atKey = false;
  let inModel = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === QUOTE) {
      const end = stringEnd(raw, i);
      if (end === -1) break;
      if (depth === 1) {
        if (atKey) {
          inModel = isModelKey(raw, i, end);
          atKey = false;
        } else if (inModel) {
          parts.push(raw.subarray(copied, i), value);
          copied = end + 1;
          inModel = false;
          // Another `model` key needs its name in the rest, spelled out or with a \u escape; usually neither is there.
          if (raw.indexOf(MODEL_KEY_END, copied) === -1 && raw.indexOf(UNICODE_ESCAPE, copied) === -1) break;
        }
      }
      i = end;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth === 1) atKey = true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    } else if (byte === COMMA && depth === 1) {
      atKey = true;
      inModel = false;
    }
  }
  if (parts.length === 0) return raw;
  parts.push(raw.subarray(copied));
  return Buffer.concat(parts);
}

/**
 * Whether a parsed body's bytes may hold a second top-level `model` key, which JSON.parse hides (the last one
 * wins) but a backend might read instead: `model"` more than once, or a `\u` escape that could spell it. A cheap
 * over-estimate; `replaceModel` settles it.
 */
export function mayHoldAnotherModel(raw: Buffer): boolean {
  const first = raw.indexOf(MODEL_KEY_END);
  return (first !== -1 && raw.indexOf(MODEL_KEY_END, first + 1) !== -1) || raw.indexOf(UNICODE_ESCAPE) !== -1;
}

/** Whether the string between the quotes at `open` and `close` is the key `model`, escapes (`"mod\u0065l"`) included. */
function isModelKey(raw: Buffer, open: number, close: number): boolean {
  const key = raw.subarray(open + 1, close);
  if (key.equals(MODEL_KEY)) return true;
  return key.includes(BACKSLASH) && JSON.parse(raw.toString('utf8', open, close + 1)) === 'model';
}

/**
 * Checks the fields Sluice itself relies on (everything else is the backend's business and passes through).
 * Errors name the offending `param`, as OpenAI's do.
 */
/**
 * What every client API asks of a body: a non-empty string `model` and, if given, a boolean `stream`. The rest of
 * a non-OpenAI body is checked by its translation, or by the backend that serves the API natively.
 */
export function validateModelAndStream(body: Readonly<Record<string, unknown>>): void {
  const model = body['model'];
  if (model === undefined) throw missing('model');
  if (typeof model !== 'string' || model === '') throw invalid('model', 'must be a non-empty string');
  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw invalid('stream', 'must be a boolean');
}

export function validateRequest(endpoint: Endpoint, body: Record<string, unknown>): void {
  validateModelAndStream(body);
  const stream = body['stream'];
  switch (endpoint) {
    case 'chat':
      return validateMessages(body['messages']);
    case 'completions': {
      const prompt = body['prompt'];
      if (prompt === undefined) throw missing('prompt');
      if (typeof prompt !== 'string' && !isNonEmptyArray(prompt)) throw invalid('prompt', 'must be a string or a non-empty array');
      return;
    }
    case 'embeddings':
    case 'moderations': {
      const input = body['input'];
      if (input === undefined) throw missing('input');
      if (typeof input !== 'string' && !isNonEmptyArray(input)) throw invalid('input', 'must be a string or a non-empty array');
      if (stream === true) throw invalid('stream', `is not supported for ${endpoint}`);
      return;
    }
    case 'rerank': {
      if (typeof body['query'] !== 'string') throw body['query'] === undefined ? missing('query') : invalid('query', 'must be a string');
      if (!isNonEmptyArray(body['documents'])) throw body['documents'] === undefined ? missing('documents') : invalid('documents', 'must be a non-empty array');
      return;
    }
    case 'images':
      if (typeof body['prompt'] !== 'string') throw body['prompt'] === undefined ? missing('prompt') : invalid('prompt', 'must be a string');
      return;
    case 'speech':
      if (typeof body['input'] !== 'string') throw body['input'] === undefined ? missing('input') : invalid('input', 'must be a string');
      return;
    case 'detokenize':
      if (!Array.isArray(body['tokens'])) throw body['tokens'] === undefined ? missing('tokens') : invalid('tokens', 'must be an array of token ids');
      return;
    case 'score':
    case 'tokenize':
      // Their inputs take several shapes (text_1/text_2, prompt or messages); the backend checks them.
      return;
  }
}

function validateMessages(messages: unknown): void {
  if (messages === undefined) throw missing('messages');
  if (!isNonEmptyArray(messages)) throw invalid('messages', 'must be a non-empty array');
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw invalid(`messages[${i}]`, 'must be an object');
    const role = (message as { role?: unknown }).role;
    if (typeof role !== 'string' || role === '') throw invalid(`messages[${i}].role`, 'must be a non-empty string');
  }
}

function isNonEmptyArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0;
}

function missing(param: string): SluiceError {
  return new SluiceError('SLUICE_MISSING_PARAM', `Missing required parameter: '${param}'.`, { param });
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_PARAM', `Invalid value for '${param}': ${what}.`, { param });
}
