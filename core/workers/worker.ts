// A worker process's side of `server.workers`: it serves requests as a single process does, and talks to the
// primary over the cluster channel: it reports when it listens, reloads when asked (SIGHUP reaches the primary),
// and answers the primary's gathers (peers.ts). Its limits go to the primary's store (state/ipc-store.ts).
//
// A worker whose primary is gone exits at once (node:cluster does so on 'disconnect'): without the primary's store
// its limits could not be checked, and a gateway must not serve without them.

import cluster from 'node:cluster';
import type { Logger } from '../logger.ts';
import type { ReloadOutcome } from '../reload.ts';
import { isMessage, type ListeningReport, type ReloadReport, type ReloadRequest } from './messages.ts';
import { WORKER_INDEX_ENV } from './primary.ts';
import { answerPeerRequests } from './peers.ts';

export interface PrimaryLink {
  /** This worker's number, 1..N (a restarted worker keeps the number of the one it replaces). */
  readonly index: number;
  /** Tells the primary this worker accepts connections. */
  listening(url: string): void;
  /** Runs `reload` when the primary asks, and reports its outcome back. */
  onReload(reload: (reason: string) => Promise<ReloadOutcome>): void;
}

/** This process's link to its primary, or null when it is not a worker (a single process). */
export function primaryLink(): PrimaryLink | null {
  if (!cluster.isWorker || process.send === undefined) return null;
  const send = (message: ListeningReport | ReloadReport): void => {
    if (process.connected) process.send!(message);
  };
  answerPeerRequests();
  return {
    index: Number(process.env[WORKER_INDEX_ENV] ?? cluster.worker?.id ?? 0),
    listening: (url) => send({ sluice: 'listening', url }),
    onReload(reload) {
      process.on('message', (message: unknown) => {
        if (!isMessage<ReloadRequest>(message, 'reload')) return;
        void reload(message.reason).then(
          (outcome) => send({ sluice: 'reloaded', id: message.id, ok: outcome.ok, errors: outcome.ok ? [] : outcome.errors }),
          (error: unknown) => send({ sluice: 'reloaded', id: message.id, ok: false, errors: [(error as Error).message] }),
        );
      });
    },
  };
}

/** The logger with `worker=N` on every line, so the interleaved lines of N workers say whose they are. */
export function workerLogger(logger: Logger, index: number): Logger {
  const tag = (fields?: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => ({ ...fields, worker: index });
  return {
    debug: (m, f) => logger.debug(m, tag(f)),
    info: (m, f) => logger.info(m, tag(f)),
    warn: (m, f) => logger.warn(m, tag(f)),
    error: (m, f) => logger.error(m, tag(f)),
  };
}
