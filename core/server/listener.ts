// The listener: an http.Server around an App, with client timeouts and protocol errors in the OpenAI shape.
// With `server.tls` it serves HTTPS instead: HTTP/2 and HTTP/1.1 on one port (ALPN picks), or HTTP/1.1 only; an
// optional plain-HTTP listener redirects to it, and `reloadTls()` swaps the certificate without dropping anyone.

import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type SecureServerOptions, type ServerHttp2Session } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { App } from '../app.ts';
import { loadServerTls, type CertificateInfo } from '../config/tls-files.ts';
import { redirectToHttps, refuseUnverifiedPeer, SluiceHttp2Request, SluiceHttp2Response } from './tls.ts';
import { declaresMoreThan } from '../http/body.ts';
import { requestId } from '../http/headers.ts';

// Not `import { createServer } from 'node:http'`: an ES import of a built-in reads every export, and node:http's
// lazy `WebSocket`, `CloseEvent` and `MessageEvent` getters then load Node's own bundled undici (fetch, WebSocket,
// web streams), ~1.5 MB of idle RSS that the gateway never uses. getBuiltinModule returns the same module object.
const { createServer } = process.getBuiltinModule('node:http');

/** What `reloadTls()` did: the new certificate, or why the old one stays. */
export type TlsReload = { readonly ok: true; readonly certificate: CertificateInfo } | { readonly ok: false; readonly error: string };

export interface Listening {
  /** `http.Server` without TLS; `https.Server` with `http2: false`; `Http2SecureServer` (HTTP/1.1 allowed) otherwise. */
  readonly server: Server | HttpsServer | Http2SecureServer;
  readonly protocol: 'http' | 'https';
  /** True when HTTP/2 is offered (by ALPN, next to HTTP/1.1). */
  readonly http2: boolean;
  readonly port: number;
  readonly host: string;
  /** The plain-HTTP listener that redirects to HTTPS (`server.redirect_http`), if any. */
  readonly redirect: { readonly server: Server; readonly port: number; readonly host: string } | null;
  /** The certificate being served; null without TLS. */
  readonly certificate: CertificateInfo | null;
  /**
   * Reads the certificate, key and CA files again and serves them to new connections; open connections keep theirs.
   * A file that is missing or unusable leaves the current certificate in place. This is what SIGHUP does.
   */
  reloadTls(): TlsReload;
  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs` (default `server.timeouts.shutdown`; 0 waits
   * for all), ends those still running with an error (an SSE stream with its final error event), then closes everything.
   */
  close(graceMs?: number): Promise<void>;
}

/** The HTTP/1.1 server options both the plain and the TLS listeners use. */
interface Http1Options {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  /** How often Node checks the two timeouts above: they fire up to this late (Node's default, 30 s, made 30 s act as 60). */
  connectionsCheckingInterval: number;
  noDelay: boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Http2Handler = (req: SluiceHttp2Request | IncomingMessage, res: SluiceHttp2Response | ServerResponse) => void;

export async function listen(gateway: App, port = gateway.server.port, host = gateway.server.host): Promise<Listening> {
  const t = gateway.server.timeouts;
  // Node's own whole-request deadline is a backstop behind the body timer, which answers with a proper 408.
  const requestTimeout = t.clientHeader === 0 || t.clientBody === 0 ? 0 : t.clientHeader + t.clientBody + 1000;
  // A tenth of the header timeout, at most 1 s: it fires within 10% (or 1 s) of its setting.
  const connectionsCheckingInterval = t.clientHeader > 0 ? Math.max(10, Math.min(1000, Math.round(t.clientHeader / 10))) : 1000;
  const http1: Http1Options = { keepAliveTimeout: t.keepAlive, headersTimeout: t.clientHeader, requestTimeout, connectionsCheckingInterval, noDelay: true };
  const tls = gateway.server.tls;
  const handle: Handler = gateway.handle;
  // Shared limits should be shared from the first request; a Redis that stays away is handled by its fail mode.
  await gateway.store.connected?.(2000);

  let server: Server | HttpsServer | Http2SecureServer;
  let certificate: CertificateInfo | null = null;
  /** HTTP/2 server only: its sockets and sessions, to close them at shutdown (it has no closeAllConnections). */
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  if (tls === null) {
    server = createServer(http1 satisfies ServerOptions, handle);
  } else {
    const material = loadServerTls(tls);
    certificate = material.certificate;
    const tlsOptions: TlsOptions = {
      ...material.context,
      requestCert: tls.clientAuth !== 'none',
      rejectUnauthorized: tls.clientAuth === 'required',
      handshakeTimeout: t.clientHeader > 0 ? t.clientHeader : 120_000,
    };
    if (tls.http2) {
      const options: SecureServerOptions<typeof IncomingMessage, typeof ServerResponse, typeof SluiceHttp2Request, typeof SluiceHttp2Response> & Http1Options = {
        ...tlsOptions,
        ...http1,
        allowHTTP1: true,
        Http2ServerRequest: SluiceHttp2Request,
        Http2ServerResponse: SluiceHttp2Response,
      };
      // One handler for both protocols: the compatibility API gives HTTP/2 streams the request/response shape.
      const h2 = createSecureServer(options, handle as Http2Handler);
      h2.on('secureConnection', (socket: TLSSocket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      h2.on('session', (session: ServerHttp2Session) => {
        sessions.add(session);
        session.once('close', () => sessions.delete(session));
        // keep_alive for HTTP/2: a session without traffic for that long gets GOAWAY; open streams still finish.
        if (t.keepAlive > 0) session.setTimeout(t.keepAlive, () => session.close());
      });
      server = h2;
    } else {
      server = createHttpsServer({ ...tlsOptions, ...http1 }, handle);
    }
    if (tls.clientAuth === 'optional') server.on('secureConnection', refuseUnverifiedPeer);
  }
  // HTTP/1.1 parse errors (the HTTP/2 server reports them too, for its HTTP/1.1 clients).
  server.on('clientError', onClientError);
  // WebSocket upgrades: only pass-through endpoints take them.
  (server as Server).on('upgrade', gateway.handleUpgrade);
  // Expect: 100-continue. A body the gateway would refuse unread is not asked for: the 413 goes out instead.
  (server as EventEmitter).on('checkContinue', (req: IncomingMessage | SluiceHttp2Request, res: ServerResponse | SluiceHttp2Response) => {
    if (!declaresMoreThan(req.headers, gateway.server.bodyLimit)) res.writeContinue();
    (handle as Http2Handler)(req, res);
  });
  await listenOn(server, port, host);
  const address = server.address() as AddressInfo;

  let redirect: Listening['redirect'] = null;
  const redirectSettings = gateway.server.redirectHttp;
  if (tls !== null && redirectSettings !== null) {
    const redirectServer = createServer(http1, redirectToHttps(address.port));
    redirectServer.on('clientError', onClientError);
    const redirectHost = redirectSettings.host ?? host;
    try {
      await listenOn(redirectServer, redirectSettings.port, redirectHost);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
    redirect = { server: redirectServer, port: (redirectServer.address() as AddressInfo).port, host: redirectHost };
  }

  return {
    server,
    protocol: tls === null ? 'http' : 'https',
    http2: tls?.http2 ?? false,
    port: address.port,
    host,
    redirect,
    get certificate(): CertificateInfo | null {
      return certificate;
    },
    reloadTls(): TlsReload {
      if (tls === null) return { ok: false, error: 'TLS is not configured (server.tls)' };
      try {
        const next = loadServerTls(tls);
        (server as HttpsServer | Http2SecureServer).setSecureContext(next.context);
        certificate = next.certificate;
        return { ok: true, certificate: next.certificate };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
    async close(graceMs = t.shutdown): Promise<void> {
      const closed = [closeServer(server)];
      if (redirect !== null) closed.push(closeServer(redirect.server));
      // Idle HTTP/1.1 connections go now; HTTP/2 sessions get GOAWAY (from server.close) and finish their streams.
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      for (const session of sessions) session.close();
      redirect?.server.closeAllConnections();
      const deadline = graceMs === 0 ? Infinity : Date.now() + graceMs;
      while (gateway.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      // A stream cut by closing its socket would look like a network failure; an error event says what happened.
      if (gateway.inFlight > 0) await gateway.cutInFlight();
      if (tls !== null && tls.http2) {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      } else {
        (server as Server | HttpsServer).closeAllConnections();
      }
      gateway.closeUpgraded();
      await Promise.all(closed);
      await gateway.close();
    },
  };
}

function listenOn(server: Server | HttpsServer | Http2SecureServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server | HttpsServer | Http2SecureServer): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Responses answered by onClientError: the parser reports its error again if more bytes arrive. */
const answered = new WeakSet<ServerResponse>();

/**
 * Malformed HTTP, oversized headers, header timeouts, bad chunked bodies: answer in the OpenAI error shape and close
 * the connection.
 */
function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // The response of a request already handed to the gateway, when the error is in its body (bad chunked encoding).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
  if (inFlight !== null && answered.has(inFlight)) return;
  if (!socket.writable || (inFlight !== null && inFlight.headersSent)) {
    socket.destroy();
    return;
  }
  const [status, text, code] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large']
        : [400, 'Bad Request', 'malformed_request'];
  const body = JSON.stringify({ error: { message: `${text}: the HTTP request could not be read.`, type: 'invalid_request_error', param: null, code } });
  if (inFlight !== null) {
    // Answered on the request's own response so the server's state stays whole; it closes the connection after.
    answered.add(inFlight);
    inFlight.shouldKeepAlive = false;
    // The gateway may have set its headers on it already (the request id, CORS): those stay.
    inFlight.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId(inFlight.req) });
    inFlight.end(body);
    return;
  }
  // No request was parsed, so no id of the client's own: a fresh one, for the client to quote.
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`,
  );
}
