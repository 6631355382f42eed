// CORS (`server.cors`): preflight answers and the Access-Control-* headers of actual responses, for browser pages
// that call the gateway directly. Off unless configured.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsSettings } from '../config/load.ts';

/** Responses whose CORS headers the gateway set: a backend's own Access-Control-* headers do not replace them. */
const owned = new WeakSet<ServerResponse>();

/** A browser's preflight: OPTIONS with an Origin and the method it means to use. */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/**
 * Sets the CORS headers on `res` before anything writes its head (`writeHead` merges them): for an allowed origin,
 * Access-Control-Allow-Origin and the rest; for any other, none, so the browser keeps the answer from the page.
 */
export function applyCors(cors: CorsSettings, req: IncomingMessage, res: ServerResponse): void {
  owned.add(res);
  // The answer depends on the Origin (unless it is `*` for everyone): caches must keep them apart.
  const named = cors.origins !== '*' || cors.credentials;
  if (named) res.setHeader('vary', 'Origin');
  const origin = req.headers.origin;
  if (origin === undefined || !(cors.origins === '*' || cors.origins.has(origin))) return;
  // `*` does not work with credentials: the origin is named instead.
  res.setHeader('access-control-allow-origin', named ? origin : '*');
  if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
  if (cors.exposeHeaders.length > 0 && !isPreflight(req)) res.setHeader('access-control-expose-headers', cors.exposeHeaders.join(', '));
}

/** Sets the headers a preflight answer adds to those of `applyCors`; none when the origin is not allowed. */
export function setPreflightHeaders(cors: CorsSettings, req: IncomingMessage, res: ServerResponse): void {
  if (!res.hasHeader('access-control-allow-origin')) return;
  res.setHeader('access-control-allow-methods', cors.methods.join(', '));
  res.setHeader('access-control-max-age', String(cors.maxAge));
  const asked = req.headers['access-control-request-headers'];
  const allowed = cors.headers === null ? asked : cors.headers.join(', ');
  if (allowed !== undefined && allowed !== '') res.setHeader('access-control-allow-headers', allowed);
}

/**
 * For `writeHead`: on a response whose CORS headers the gateway set, drops the Access-Control-* headers in
 * `headers` (a backend's) and adds `Origin` to their Vary rather than replacing it.
 */
export function keepGatewayCors(res: ServerResponse, headers: Record<string, string | string[] | number>): void {
  if (!owned.has(res)) return;
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower.startsWith('access-control-')) delete headers[name];
    else if (lower === 'vary' && res.hasHeader('vary')) headers[name] = `${String(headers[name])}, ${String(res.getHeader('vary'))}`;
  }
}
