// Gathering a value from every worker process, for state that is per process and reported as one (the metrics:
// one scrape of /metrics sums all workers). A worker asks the primary, the primary asks each worker and answers with
// the values it got. Without workers (a single process) there is nobody to ask: `gatherFromWorkers` gives null.

import cluster from 'node:cluster';
import { isMessage, type GatherAnswer, type GatherRequest, type PeerAnswer, type PeerRequest } from './messages.ts';

type Provider = () => unknown | Promise<unknown>;

const providers = new Map<string, Provider>();
const waiting = new Map<number, (values: readonly unknown[]) => void>();
let nextId = 0;
let listening = false;

/**
 * Makes `provide` this process's answer for `topic` (the last one registered wins: a reloaded plugin replaces its
 * predecessor's). The value must survive JSON (plain objects, arrays, numbers, strings). Returns a function that
 * withdraws it (for the plugin's close).
 */
export function provideToPeers(topic: string, provide: Provider): () => void {
  providers.set(topic, provide);
  // Withdraws this provider only: after a reload the new plugin's has replaced it, and the old one's close runs late.
  return () => {
    if (providers.get(topic) === provide) providers.delete(topic);
  };
}

/**
 * One value for `topic` from every running worker, this one included, or null in a single process. A worker that
 * does not answer within the primary's timeout, or has no provider for `topic`, is left out.
 */
export function gatherFromWorkers(topic: string): Promise<readonly unknown[]> | null {
  if (!cluster.isWorker || process.send === undefined || !process.connected) return null;
  answerPeerRequests();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, resolve);
    try {
      process.send!({ sluice: 'gather', id, topic } satisfies GatherRequest);
    } catch (error) {
      waiting.delete(id);
      reject(error as Error);
    }
  });
}

/** Installs this worker's listener for the primary's peer requests and gather answers (once). */
export function answerPeerRequests(): void {
  if (listening || !cluster.isWorker) return;
  listening = true;
  process.on('message', (message: unknown) => {
    if (isMessage<GatherAnswer>(message, 'gathered')) {
      waiting.get(message.id)?.(message.values);
      waiting.delete(message.id);
      return;
    }
    if (!isMessage<PeerRequest>(message, 'peer-request')) return;
    const provide = providers.get(message.topic);
    const reply = (value: unknown): void => {
      if (process.connected) process.send!({ sluice: 'peer-answer', id: message.id, value: value ?? null } satisfies PeerAnswer);
    };
    if (provide === undefined) return reply(null);
    Promise.resolve()
      .then(provide)
      .then(reply, () => reply(null));
  });
}
