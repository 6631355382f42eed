// The messages between the primary process and its workers (besides the shared store's, in state/ipc-store.ts).

/** Primary → worker: reload the config file (the primary has checked that it loads). */
export interface ReloadRequest {
  readonly sluice: 'reload';
  readonly id: number;
  readonly reason: string;
}

/** Worker → primary: how a reload went in this worker. */
export interface ReloadReport {
  readonly sluice: 'reloaded';
  readonly id: number;
  readonly ok: boolean;
  readonly errors: readonly string[];
}

/** Worker → primary: the worker accepts connections. */
export interface ListeningReport {
  readonly sluice: 'listening';
  readonly url: string;
}

/** Worker → primary: collect `topic` from every worker (see peers.ts); primary → worker: the answer. */
export interface GatherRequest {
  readonly sluice: 'gather';
  readonly id: number;
  readonly topic: string;
}

export interface GatherAnswer {
  readonly sluice: 'gathered';
  readonly id: number;
  /** One value per worker that answered; null when the topic is unknown to the primary's workers. */
  readonly values: readonly unknown[];
}

/** Primary → one worker: give your value for `topic`; worker → primary: here it is. */
export interface PeerRequest {
  readonly sluice: 'peer-request';
  readonly id: number;
  readonly topic: string;
}

export interface PeerAnswer {
  readonly sluice: 'peer-answer';
  readonly id: number;
  readonly value: unknown;
}

export type WorkerMessage = ReloadReport | ListeningReport | GatherRequest | PeerAnswer;
export type PrimaryMessage = ReloadRequest | GatherAnswer | PeerRequest;

/** A message of ours with this `sluice` tag (the channel also carries Node's cluster messages and the store's). */
export function isMessage<M extends { readonly sluice: string }>(message: unknown, tag: M['sluice']): message is M {
  return typeof message === 'object' && message !== null && (message as { sluice?: unknown }).sluice === tag;
}
