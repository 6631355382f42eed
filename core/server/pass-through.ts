// LiteLLM's `general_settings.pass_through_endpoints`: paths forwarded as they are to another server, with headers
// of their own, behind the gateway's keys or open, WebSocket upgrades included. The bytes go through http-proxy-3
// untouched: no model, no chain beyond authentication, no translation.
//
//   general_settings:
//     pass_through_endpoints:
//       - path: /cohere/rerank
//         target: https://api.cohere.com/v1/rerank
//         headers: { Authorization: "bearer os.environ/COHERE_API_KEY" }
//         auth: true              # the caller needs a gateway key (default false, as LiteLLM's)
//         forward_headers: false  # the client's headers other than the body's go on too (default false)
//         include_subpath: true   # /cohere/rerank/x goes to …/v1/rerank/x (default false)

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyServer } from 'http-proxy-3';

export interface PassThroughEntry {
  readonly path: string;
  readonly target: URL;
  /** Sent upstream on every request, over the client's. */
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: boolean;
  readonly forwardHeaders: boolean;
  readonly includeSubpath: boolean;
}

/** Client headers that describe the body, forwarded even without `forward_headers`. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'accept', 'accept-encoding']);
/** The gateway's own credentials: never forwarded, whatever `forward_headers` says. */
const GATEWAY_CREDENTIALS = new Set(['authorization', 'x-api-key', 'x-litellm-api-key', 'api-key', 'proxy-authorization']);
const ENV_REFERENCE = /os\.environ\/([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The entries of `general_settings.pass_through_endpoints`. `os.environ/NAME` inside a header value reads the
 * environment, as LiteLLM does; one that is unset is an error, since a credential that resolves to nothing must not
 * start a gateway that would send requests without it.
 */
export function passThroughEntries(value: unknown, env: NodeJS.ProcessEnv, errors: string[]): PassThroughEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push('general_settings.pass_through_endpoints: must be a list');
    return [];
  }
  const entries: PassThroughEntry[] = [];
  value.forEach((raw: unknown, i) => {
    const where = `general_settings.pass_through_endpoints[${i}]`;
    const item = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const path = item['path'];
    if (typeof path !== 'string' || !path.startsWith('/')) return void errors.push(`${where}.path: must be a path starting with "/"`);
    let target: URL;
    try {
      target = new URL(String(item['target']));
    } catch {
      return void errors.push(`${where}.target: must be an http(s) URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return void errors.push(`${where}.target: must be an http(s) URL`);
    const headers: Record<string, string> = {};
    for (const [name, header] of Object.entries((item['headers'] ?? {}) as Record<string, unknown>)) {
      headers[name.toLowerCase()] = String(header).replace(ENV_REFERENCE, (_, variable: string) => {
        const resolved = env[variable];
        if (resolved === undefined || resolved === '') errors.push(`${where}.headers.${name}: environment variable ${variable} is not set`);
        return resolved ?? '';
      });
    }
    entries.push({
      path: path.replace(/\/+$/, '') || '/',
      target,
      headers,
      auth: item['auth'] === true,
      forwardHeaders: item['forward_headers'] === true,
      includeSubpath: item['include_subpath'] === true,
    });
  });
  return entries;
}

/** The target URL for a request path, or null when no entry serves it. */
export interface PassThroughMatch {
  readonly entry: PassThroughEntry;
  readonly target: string;
}

export class PassThroughProxy {
  readonly #entries: readonly PassThroughEntry[];
  readonly #proxy: ProxyServer;

  /** http-proxy-3 (and follow-redirects, debug) is loaded by the first config that has pass-through entries. */
  static async create(entries: readonly PassThroughEntry[]): Promise<PassThroughProxy> {
    const { ProxyServer } = await import('http-proxy-3');
    return new PassThroughProxy(entries, new ProxyServer({ changeOrigin: true, ignorePath: true, xfwd: true }));
  }

  private constructor(entries: readonly PassThroughEntry[], proxy: ProxyServer) {
    // Longest path first, so /a/b wins over /a.
    this.#entries = [...entries].sort((a, b) => b.path.length - a.path.length);
    this.#proxy = proxy;
    this.#proxy.on('proxyReq', (proxyReq, req) => prepareHeaders(proxyReq.getHeaderNames(), (name) => proxyReq.removeHeader(name), (name, value) => proxyReq.setHeader(name, value), matchOf(req)));
    this.#proxy.on('proxyReqWs', (proxyReq, req) => prepareHeaders(proxyReq.getHeaderNames(), (name) => proxyReq.removeHeader(name), (name, value) => proxyReq.setHeader(name, value), matchOf(req)));
  }

  get size(): number {
    return this.#entries.length;
  }

  match(url: string): PassThroughMatch | null {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    for (const entry of this.#entries) {
      const exact = path === entry.path;
      if (!exact && !(entry.includeSubpath && path.startsWith(entry.path === '/' ? '/' : `${entry.path}/`))) continue;
      const target = new URL(entry.target);
      if (!exact) target.pathname = target.pathname.replace(/\/+$/, '') + path.slice(entry.path.length);
      if (q !== -1) target.search = url.slice(q);
      return { entry, target: target.href };
    }
    return null;
  }

  /** Forwards an HTTP request; `failed` answers the client when the target cannot be reached. */
  web(req: IncomingMessage, res: ServerResponse, match: PassThroughMatch, failed: (error: Error) => void): void {
    MATCHES.set(req, match);
    this.#proxy.web(req, res, { target: match.target }, (error) => failed(error));
  }

  /** Forwards a WebSocket upgrade. */
  ws(req: IncomingMessage, socket: Socket, head: Buffer, match: PassThroughMatch): void {
    MATCHES.set(req, match);
    this.#proxy.ws(req, socket, head, { target: match.target }, () => socket.destroy());
  }

  close(): void {
    this.#proxy.close();
  }
}

/** The match a request was forwarded for, read back in the proxy's header hooks. */
const MATCHES = new WeakMap<IncomingMessage, PassThroughMatch>();

function matchOf(req: IncomingMessage): PassThroughMatch | undefined {
  return MATCHES.get(req);
}

function prepareHeaders(names: readonly string[], remove: (name: string) => void, set: (name: string, value: string) => void, match: PassThroughMatch | undefined): void {
  if (match === undefined) return;
  for (const name of names) {
    const lower = name.toLowerCase();
    if (GATEWAY_CREDENTIALS.has(lower) || (!match.entry.forwardHeaders && !BODY_HEADERS.has(lower) && !lower.startsWith('x-forwarded-') && lower !== 'host' && lower !== 'connection' && lower !== 'upgrade' && !lower.startsWith('sec-websocket-'))) remove(name);
  }
  for (const [name, value] of Object.entries(match.entry.headers)) set(name, value);
}
