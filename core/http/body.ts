// Request body: read with a byte limit and a deadline, parse JSON, check the fields each endpoint needs.

import type { IncomingMessage } from 'node:http';
import { SluiceError } from '../errors.ts';
import type { Endpoint } from '../config/models.ts';

/**
 * Reads the whole body. Rejects with 413 as soon as the declared or received size passes `limit` (a declared
 * Content-Length over the limit is refused before reading a byte), and with 408 when the client is too slow.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | null = null;
    const cleanup = (): void => {
      if (timer !== null) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new SluiceError('SLUICE_INVALID_PARAM', 'The request body could not be read.', { cause: error }));
    };
    const onAborted = (): void => onError(new Error('client aborted'));
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        req.pause();
        reject(new SluiceError('SLUICE_CLIENT_TIMEOUT', `The request body was not received within ${timeoutMs / 1000} s.`, { details: { timeout_s: timeoutMs / 1000 } }));
      }, timeoutMs);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number): SluiceError {
  return new SluiceError('SLUICE_BODY_TOO_LARGE', `The request body is larger than the limit of ${limit} bytes.`, { details: { limit } });
}

/** Parses a JSON object body. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new SluiceError('SLUICE_INVALID_JSON', 'The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new SluiceError('SLUICE_INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SluiceError('SLUICE_INVALID_JSON', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * Checks the fields Sluice itself relies on (everything else is the backend's business and passes through).
 * Errors name the offending `param`, as OpenAI's do.
 */
export function validateRequest(endpoint: Endpoint, body: Record<string, unknown>): void {
  const model = body['model'];
  if (model === undefined) throw missing('model');
  if (typeof model !== 'string' || model === '') throw invalid('model', 'must be a non-empty string');
  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw invalid('stream', 'must be a boolean');
  switch (endpoint) {
    case 'chat':
      return validateMessages(body['messages']);
    case 'completions': {
      const prompt = body['prompt'];
      if (prompt === undefined) throw missing('prompt');
      if (typeof prompt !== 'string' && !isNonEmptyArray(prompt)) throw invalid('prompt', 'must be a string or a non-empty array');
      return;
    }
    case 'embeddings': {
      const input = body['input'];
      if (input === undefined) throw missing('input');
      if (typeof input !== 'string' && !isNonEmptyArray(input)) throw invalid('input', 'must be a string or a non-empty array');
      if (stream === true) throw invalid('stream', 'is not supported for embeddings');
      return;
    }
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
