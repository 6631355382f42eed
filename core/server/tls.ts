// TLS on the listener: refusing unverified client certificates, the HTTP→HTTPS redirect, and HTTP/2 request and
// response classes for the compatibility API. The certificate files are read by config/tls-files.ts.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/**
 * With `client_auth: optional` the server asks for a certificate but lets clients without one in. A client that
 * presents one that fails verification is still turned away (as nginx's `ssl_verify_client optional` does).
 */
export function refuseUnverifiedPeer(socket: TLSSocket): void {
  if (socket.authorized) return;
  const peer = socket.getPeerCertificate();
  if (peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0) socket.destroy();
}

// HTTP → HTTPS ----------------------------------------------------------------------------------------------

/** A host name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/**
 * The plain-HTTP listener's request handler: 308 to the same host name (from `Host`), the TLS port, the same path
 * and query. 308 keeps the method and body, so a POST is repeated as a POST. The body itself is not read: when one
 * was sent, the connection closes after the answer.
 */
export function redirectToHttps(tlsPort: number): (req: IncomingMessage, res: ServerResponse) => void {
  const portSuffix = tlsPort === 443 ? '' : `:${tlsPort}`;
  return (req, res) => {
    const hostHeader = req.headers.host;
    const match = hostHeader === undefined ? null : HOST_HEADER.exec(hostHeader);
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (match === null) {
      const body = JSON.stringify({
        error: { message: 'Bad Request: a Host header is needed to redirect to HTTPS.', type: 'invalid_request_error', param: null, code: 'malformed_request' },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(hasBody ? { connection: 'close' } : {}) });
      res.end(body);
      return;
    }
    const url = req.url ?? '/';
    // An absolute-form target (`GET http://host/path`) keeps only its path and query.
    let target = url;
    if (!url.startsWith('/')) {
      try {
        const parsed = new URL(url);
        target = parsed.pathname + parsed.search;
      } catch {
        target = '/';
      }
    }
    const headers: OutgoingHttpHeaders = { location: `https://${match[1]!}${portSuffix}${target}`, 'content-length': 0 };
    if (hasBody) headers['connection'] = 'close';
    res.writeHead(308, headers);
    res.end();
  };
}

// HTTP/2 through the compatibility API ----------------------------------------------------------------------

/**
 * The request class for HTTP/2 streams. The gateway forwards `rawHeaders` upstream (minus hop-by-hop ones); over
 * HTTP/2 Node puts the pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) in that list, and a header
 * name with a colon is not valid in an HTTP/1.1 request to a backend. This class leaves them out of `rawHeaders`
 * (they stay in `headers`, and `method` and `url` still carry them).
 */
export class SluiceHttp2Request extends Http2ServerRequest {}

const baseRawHeaders = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, 'rawHeaders')?.get;
Object.defineProperty(SluiceHttp2Request.prototype, 'rawHeaders', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerRequest): string[] {
    const raw = (baseRawHeaders?.call(this) ?? []) as string[];
    let pseudo = false;
    for (let i = 0; i < raw.length && !pseudo; i += 2) pseudo = raw[i]!.charCodeAt(0) === 58; // ':'
    if (!pseudo) return raw;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 58) out.push(raw[i]!, raw[i + 1]!);
    return out;
  },
});

/**
 * Connection-specific response headers, forbidden in HTTP/2 (RFC 9113 §8.2.2). Node throws
 * ERR_HTTP2_INVALID_CONNECTION_HEADERS when a response has one (and drops `connection` with a warning).
 */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

function withoutConnectionHeaders(headers: OutgoingHttpHeaders | readonly string[] | undefined): OutgoingHttpHeaders | readonly string[] | undefined {
  if (headers === undefined) return undefined;
  if (Array.isArray(headers)) {
    const list = headers as readonly string[];
    let clean = true;
    for (let i = 0; i < list.length; i += 2) if (H2_FORBIDDEN.has(list[i]!.toLowerCase())) clean = false;
    return clean ? list : list.filter((_, j) => !H2_FORBIDDEN.has(list[j - (j % 2)]!.toLowerCase()));
  }
  const object = headers as OutgoingHttpHeaders;
  let copy: OutgoingHttpHeaders | null = null;
  for (const name in object) {
    if (H2_FORBIDDEN.has(name.toLowerCase())) {
      copy ??= { ...object };
      delete copy[name];
    }
  }
  return copy ?? object;
}

/**
 * The response class for HTTP/2 streams:
 * - `writeHead` drops HTTP/1 connection headers (`connection`, `keep-alive`, `transfer-encoding`...), which a
 *   plugin or a reply may set and which HTTP/2 forbids, instead of throwing;
 * - `destroyed` is true once the stream is gone (Node's HTTP/2 response has no `destroyed`; the HTTP/1 one does);
 * - `writableFinished` is true only for a response that was ended (Node's is also true after a client's reset);
 * - `shouldKeepAlive = false` (set when a request body is refused unread) resets the stream once the answer is
 *   sent, so the client stops uploading, as closing the connection does over HTTP/1.1.
 */
export class SluiceHttp2Response extends Http2ServerResponse {
  override writeHead(statusCode: number, messageOrHeaders?: string | OutgoingHttpHeaders | readonly string[], headers?: OutgoingHttpHeaders | readonly string[]): this {
    if (typeof messageOrHeaders === 'string') return super.writeHead(statusCode, messageOrHeaders, withoutConnectionHeaders(headers));
    return super.writeHead(statusCode, withoutConnectionHeaders(messageOrHeaders));
  }
}

Object.defineProperty(SluiceHttp2Response.prototype, 'destroyed', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerResponse): boolean {
    const stream = this.stream as Http2ServerResponse['stream'] | undefined;
    return stream === undefined || stream.destroyed;
  },
});

// Node's HTTP/2 response reports its stream's `writableFinished`, which is also true when the client reset the
// stream (a cancelled request). The gateway reads `writableFinished` in 'close' to tell a completed response from a
// client that left; only a response that was ended counts as finished.
const baseWritableFinished = Object.getOwnPropertyDescriptor(Http2ServerResponse.prototype, 'writableFinished')?.get;
Object.defineProperty(SluiceHttp2Response.prototype, 'writableFinished', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerResponse): boolean {
    return this.writableEnded && baseWritableFinished?.call(this) === true;
  },
});

Object.defineProperty(SluiceHttp2Response.prototype, 'shouldKeepAlive', {
  configurable: true,
  enumerable: false,
  get(): boolean {
    return true;
  },
  set(this: Http2ServerResponse, keep: boolean): void {
    if (keep) return;
    const stream = this.stream as Http2ServerResponse['stream'] | undefined;
    if (stream === undefined) return;
    // RST_STREAM(NO_ERROR) once the whole response is out (the stream's writable side, not the response's
    // 'finish', which waits for the stream to close): RFC 9113 §8.1, the way to stop an unwanted upload.
    const reset = (): void => {
      if (!stream.destroyed && !stream.closed) stream.close(0);
    };
    if (stream.writableFinished) reset();
    else stream.once('finish', reset);
  },
});
