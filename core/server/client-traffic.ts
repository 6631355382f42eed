// Client connections and the bytes on them, for the metrics: counted per connection, not per request or chunk.
//
// The App hands each request's connection to `track` (a Map lookup once it is known). The byte counts are the
// sockets' own (`bytesRead` / `bytesWritten`): read when asked, from the open connections plus the totals the
// closed ones left, so nothing is added on the path of a request's bytes. HTTP/2 connections are counted, but not
// their bytes: Node's native HTTP/2 session reads and writes the socket itself, past the counters (they stop at the
// TLS handshake's), and counting frames instead would be work per chunk.

import type { IncomingMessage } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

export interface ClientTraffic {
  /** Client connections open now that carried at least one request. */
  readonly openConnections: number;
  /** Bytes read from client connections: request heads and bodies (decrypted, under TLS). Not HTTP/2's. */
  readonly bytesIn: number;
  /** Bytes written to client connections: response heads and bodies (before encryption, under TLS). Not HTTP/2's. */
  readonly bytesOut: number;
}

/** The socket side of a connection: its counters and its close event. */
type CountedSocket = Pick<Socket, 'bytesRead' | 'bytesWritten' | 'once' | 'destroyed'>;

export class ClientConnections implements ClientTraffic {
  /** Open connections by their key (the socket; on HTTP/2 the session, whose bytes are not counted: null). */
  readonly #open = new Map<object, CountedSocket | null>();
  #closedIn = 0;
  #closedOut = 0;

  /** Counts the request's connection, if it is new. */
  track(req: IncomingMessage): void {
    if (req.httpVersionMajor === 2) {
      // The compatibility request gives each stream its own proxy of the socket: the session is the connection.
      const session = (req as IncomingMessage & { stream?: { session?: ServerHttp2Session } }).stream?.session;
      if (session === undefined || this.#open.has(session) || session.destroyed) return;
      this.#open.set(session, null);
      session.once('close', () => this.#open.delete(session));
      return;
    }
    const socket: CountedSocket = req.socket;
    // A socket already closed would never fire 'close' and stay listed.
    if (this.#open.has(socket) || socket.destroyed) return;
    this.#open.set(socket, socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#closedIn += socket.bytesRead;
      this.#closedOut += socket.bytesWritten;
    });
  }

  get openConnections(): number {
    return this.#open.size;
  }

  get bytesIn(): number {
    let n = this.#closedIn;
    for (const socket of this.#open.values()) if (socket !== null) n += socket.bytesRead;
    return n;
  }

  get bytesOut(): number {
    let n = this.#closedOut;
    for (const socket of this.#open.values()) if (socket !== null) n += socket.bytesWritten;
    return n;
  }
}
