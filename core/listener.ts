// The listener: an http.Server around a Gateway, with client timeouts and protocol errors in the OpenAI shape.

import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Gateway } from './gateway.ts';

export interface Listening {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(gateway: Gateway, port = gateway.server.port, host = gateway.server.host): Promise<Listening> {
  const t = gateway.server.timeouts;
  // Node's own whole-request deadline is a backstop behind the body timer, which answers with a proper 408.
  const requestTimeout = t.clientHeader === 0 || t.clientBody === 0 ? 0 : t.clientHeader + t.clientBody + 1000;
  const server = createServer(
    {
      keepAliveTimeout: t.keepAlive,
      headersTimeout: t.clientHeader,
      requestTimeout,
      noDelay: true,
    },
    gateway.handle,
  );
  server.on('clientError', onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    host,
    async close(graceMs = 10_000): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (gateway.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      server.closeAllConnections();
      await closed;
      await gateway.close();
    },
  };
}

/** Malformed HTTP, oversized headers, header timeouts: answer in the OpenAI error shape and drop the socket. */
function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage != null) {
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
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
