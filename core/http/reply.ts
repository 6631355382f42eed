// Local replies: the only place that writes a response the gateway made itself (errors, plugin answers, lists).

import type { ServerResponse } from 'node:http';
import { keepGatewayCors } from './cors.ts';
import type { SluiceError } from '../errors.ts';
import type { LocalizedMessage } from '../plugin/localize.ts';
import type { RequestContext } from '../plugin/context.ts';

/** A complete answer produced by the gateway or a plugin instead of the upstream. */
export interface Reply {
  readonly kind: 'reply';
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Builds a reply for a hook to return. Objects are sent as JSON; strings and Buffers as they are (set
 * `content-type` in `headers` for those).
 */
export function respond(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    return { kind: 'reply', status, body, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } };
  }
  return { kind: 'reply', status, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } };
}

export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'reply';
}

/** Writes a reply. `extra` carries headers every response gets (request id, plugin headers). */
export function sendReply(res: ServerResponse, reply: Reply, extra?: Readonly<Record<string, string>>): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...extra, ...reply.headers };
  headers['content-length'] = Buffer.byteLength(reply.body);
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/**
 * The one way a response head reaches the client: records `ctx.status` and the first-byte time (for the access log
 * and latency figures), then writes the status line and headers. False when the response is already gone.
 */
export function writeHead(res: ServerResponse, ctx: RequestContext, status: number, headers: Record<string, string | string[] | number>): boolean {
  if (res.headersSent || res.destroyed) return false;
  ctx.status = status;
  if (ctx.firstByteAt === 0) ctx.firstByteAt = performance.now();
  keepGatewayCors(res, headers);
  res.writeHead(status, headers);
  return true;
}

/** A whole local reply for a request (a plugin's answer, a route's answer), through `writeHead`. */
export function writeReply(res: ServerResponse, ctx: RequestContext, reply: Reply, extra?: Readonly<Record<string, string>>): void {
  const headers: Record<string, string | number> = { ...extra, ...reply.headers };
  // A 204 has no body and may not carry Content-Length (RFC 9110 §8.6).
  if (reply.status !== 204) headers['content-length'] = Buffer.byteLength(reply.body);
  if (writeHead(res, ctx, reply.status, headers)) res.end(reply.status === 204 ? undefined : reply.body);
}

/** Builds an error body in one client API's shape (OpenAI's, Ollama's, Anthropic's) around a localized message. */
export type ErrorShape = (error: SluiceError, message: string) => unknown;

const OPENAI_SHAPE: ErrorShape = (error, message) => errorBody(error, { message, lang: 'en' });

/**
 * An error for a request, in the shape of the API called (OpenAI's unless `shape` says otherwise) and the caller's
 * language (see `sendError`), through `writeHead`.
 */
export function writeError(
  res: ServerResponse,
  ctx: RequestContext,
  error: SluiceError,
  extra: Readonly<Record<string, string>> | undefined,
  localized: LocalizedMessage,
  shape: ErrorShape = OPENAI_SHAPE,
): void {
  const headers: Record<string, string> = { ...extra, ...error.headers, 'content-language': localized.lang };
  writeReply(res, ctx, respond(error.status, shape(error, localized.message)), headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extra?: Readonly<Record<string, string>>): void {
  sendReply(res, respond(status, body), extra);
}

/**
 * Writes `{"error":{...}}` with the error's status and headers. `localized` replaces the English message and sets
 * `Content-Language`; every error the gateway writes carries that header.
 */
export function sendError(res: ServerResponse, error: SluiceError, extra?: Readonly<Record<string, string>>, localized?: LocalizedMessage): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...extra, ...error.headers, 'content-language': localized?.lang ?? 'en' };
  sendReply(res, respond(error.status, errorBody(error, localized)), headers);
}

/** The OpenAI error object, with the message in the caller's language when one is given. */
export function errorBody(error: SluiceError, localized?: LocalizedMessage): ReturnType<SluiceError['toJSON']> {
  const body = error.toJSON();
  if (localized !== undefined) body.error.message = localized.message;
  return body;
}

/**
 * Ends a response whose headers are already out. A stream (SSE or NDJSON) gets `tail`, its final events in the
 * API's shape; any other body is cut short by destroying the socket, so the client sees a truncated response
 * instead of a body that looks complete.
 */
export function endStarted(res: ServerResponse, isStream: boolean, tail: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (!isStream) {
    res.destroy();
    return;
  }
  res.end(tail);
}
