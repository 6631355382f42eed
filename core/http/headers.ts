// HTTP header facts the proxy applies in both directions.

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Response headers that describe one hop, never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-connection']);

/** A comma-separated header's tokens, lower-cased (`Connection`, `Transfer-Encoding`). */
export function headerList(value: string | string[]): string[] {
  const tokens: string[] = [];
  for (const token of (typeof value === 'string' ? value : value.join(',')).split(',')) {
    const trimmed = token.trim().toLowerCase();
    if (trimmed !== '') tokens.push(trimmed);
  }
  return tokens;
}

export function isChunkedOnly(codings: string | string[]): boolean {
  const list = headerList(codings);
  return list.length === 1 && list[0] === 'chunked';
}

/** A request's id: the client's own `x-request-id` when it sent a usable one, otherwise a fresh UUID. */
export function requestId(req: { readonly headers: IncomingHttpHeaders }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
}
