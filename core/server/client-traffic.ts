// Client connections and the bytes on them, for the metrics: counted per connection, not per request or chunk.
//
// The App hands each request's connection to `track` (a Map lookup once it is known). The byte counts are the
// sockets' own (`bytesRead` / `bytesWritten`): read when asked, from the open connections plus the totals the
// closed ones left, so nothing is added on the path of a request's bytes.

import type { IncomingMessage } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

/** What a plugin may read about the gateway's client connections (this process, since it started). */
export interface ClientTraffic {
  /** Client connections open now that carried at least one request. */
  readonly openConnections: number;
  /** Bytes read from client connections: request heads and bodies (decrypted, under TLS). */
  readonly bytesIn: number;
  /** Bytes written to client connections: response heads and bodies (before encryption, under TLS). */
  readonly bytesOut: number;
}

/** The socket side of a connection: its counters and its close event. */
type CountedSocket = Pick<Socket, 'bytesRead' | 'bytesWritten' | 'once'>;

export class ClientConnections implements ClientTraffic {
  /** Open connections by their key (the socket; on HTTP/2 the session, whose streams share it). */
  readonly #open = new Map<object, CountedSocket>();
  #closedIn = 0;
  #closedOut = 0;

  /** Counts the request's connection, if it is new. */
  track(req: IncomingMessage): void {
    // HTTP/2's compatibility request gives each stream its own proxy of the socket: the session is the connection.
    const session = req.httpVersionMajor === 2 ? (req as IncomingMessage & { stream?: { session?: ServerHttp2Session } }).stream?.session : undefined;
    const key: object = session ?? req.socket;
    if (this.#open.has(key)) return;
    const socket: CountedSocket = req.socket;
    this.#open.set(key, socket);
    const open = this.#open;
    const closed = (from: CountedSocket): void => {
      if (!open.delete(key)) return;
      this.#closedIn += from.bytesRead;
      this.#closedOut += from.bytesWritten;
    };
    // `this` is the real socket, also when `socket` is HTTP/2's proxy of it (unusable once the session is gone).
    socket.once('close', function (this: Socket) {
      closed(this);
    });
  }

  get openConnections(): number {
    return this.#open.size;
  }

  get bytesIn(): number {
    let n = this.#closedIn;
    for (const socket of this.#open.values()) n += readCount(socket, 'bytesRead');
    return n;
  }

  get bytesOut(): number {
    let n = this.#closedOut;
    for (const socket of this.#open.values()) n += readCount(socket, 'bytesWritten');
    return n;
  }
}

/** A socket's counter, 0 when it cannot be read (an HTTP/2 session closing: its proxy refuses). */
function readCount(socket: CountedSocket, which: 'bytesRead' | 'bytesWritten'): number {
  try {
    return socket[which] ?? 0;
  } catch {
    return 0;
  }
}
