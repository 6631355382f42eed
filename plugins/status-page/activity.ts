// What the status page counts itself, from the `log` phase: requests and errors per deployment and per key over the
// last minute and since start, and the latest errors. One finished request costs a few array increments; nothing
// here looks at a prompt or an answer.

/** Events over the last 60 seconds (one bucket per second) and since start. */
export class MinuteCounter {
  /** Bucket i holds the events of the second `seconds[i]` (epoch seconds, i = second % 60). */
  readonly #counts = new Float64Array(60);
  readonly #seconds = new Float64Array(60);
  total = 0;

  add(now: number, amount = 1): void {
    const second = Math.floor(now / 1000);
    const i = second % 60;
    if (this.#seconds[i] !== second) {
      this.#seconds[i] = second;
      this.#counts[i] = 0;
    }
    this.#counts[i]! += amount;
    this.total += amount;
  }

  /** The events of the 60 seconds up to and including `now`'s second. */
  lastMinute(now: number): number {
    const second = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < 60; i++) {
      const age = second - this.#seconds[i]!;
      if (age >= 0 && age < 60) sum += this.#counts[i]!;
    }
    return sum;
  }
}

/** Requests served by one deployment (the one a request ended on, after any retries). */
export interface DeploymentActivity {
  readonly requests: MinuteCounter;
  readonly errors: MinuteCounter;
}

/** One key's traffic, as this instance saw it. */
export interface KeyActivity {
  readonly requests: MinuteCounter;
  readonly errors: MinuteCounter;
  /** Total tokens, when something in the chain has the core read usage (the spend or metrics plugin, tpm limits). */
  readonly tokens: MinuteCounter;
  /** USD, summed from the spend plugin's `spend` log field; 0 without it. */
  spend: number;
  /** The budget left after the key's latest request, as the spend plugin reported it; null when it has no max budget. */
  budgetRemaining: number | null;
}

/** One failed request, without its body: nothing the caller wrote but the model name. */
export interface RecentError {
  /** Epoch ms when it ended. */
  readonly at: number;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Sluice's error code (`SLUICE_UPSTREAM_TIMEOUT`), or null when a backend's own error passed through. */
  readonly code: string | null;
  /** Sluice's own message (never a backend's body), cut to `MAX_MESSAGE_CHARS`. */
  readonly message: string | null;
  readonly model: string;
  readonly deployment: string | null;
  readonly key: string | null;
}

const MAX_MESSAGE_CHARS = 300;
/** More distinct ids than a config has is a custom auth plugin minting them: stop adding rather than grow. */
const MAX_TRACKED = 5000;

/** The fields of a finished request that `Activity.record` reads (a `RequestContext` has them all). */
export interface FinishedRequest {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly model: string;
  readonly status: number;
  readonly outcome: string;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly deployment: { readonly id: string } | null;
  readonly auth: { readonly keyId: string } | null;
  readonly usage: { readonly totalTokens: number } | null;
  readonly logFields: Readonly<Record<string, unknown>>;
}

/** Everything counted, for one App: it outlives config reloads, so a reload restarts no count. */
export class Activity {
  /** Epoch ms when counting started. */
  readonly since: number;
  readonly deployments = new Map<string, DeploymentActivity>();
  readonly keys = new Map<string, KeyActivity>();
  readonly all: DeploymentActivity = { requests: new MinuteCounter(), errors: new MinuteCounter() };
  /** The latest errors, oldest first once read through `recentErrors()`. */
  readonly #errors: (RecentError | undefined)[];
  #next = 0;

  constructor(now: number, recentErrors: number) {
    this.since = now;
    this.#errors = new Array<RecentError | undefined>(recentErrors);
  }

  /** Counts one finished proxied request. A client that went away is not an error of the deployment's. */
  record(request: FinishedRequest, now: number): void {
    const failed = request.outcome !== 'aborted' && (request.error !== null || request.status >= 400);
    this.all.requests.add(now);
    if (failed) this.all.errors.add(now);

    const deploymentId = request.deployment?.id ?? null;
    if (deploymentId !== null) {
      const deployment = this.#deployment(deploymentId);
      if (deployment !== null) {
        deployment.requests.add(now);
        if (failed) deployment.errors.add(now);
      }
    }

    const keyId = request.auth?.keyId ?? null;
    if (keyId !== null) {
      const key = this.#key(keyId);
      if (key !== null) {
        key.requests.add(now);
        if (failed) key.errors.add(now);
        const tokens = request.usage?.totalTokens ?? 0;
        if (tokens > 0) key.tokens.add(now, tokens);
        const spend = request.logFields['spend'];
        if (typeof spend === 'number' && Number.isFinite(spend) && spend > 0) key.spend += spend;
        const remaining = request.logFields['key_budget_remaining'];
        if (typeof remaining === 'number' && Number.isFinite(remaining)) key.budgetRemaining = remaining;
      }
    }

    if (failed) {
      const message = request.error?.message ?? null;
      this.#errors[this.#next] = {
        at: now,
        requestId: request.id,
        method: request.method,
        path: request.path,
        status: request.status,
        code: request.error?.code ?? null,
        message: message === null || message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`,
        model: request.model,
        deployment: deploymentId,
        key: keyId,
      };
      this.#next = (this.#next + 1) % this.#errors.length;
    }
  }

  /** The latest errors, newest first. */
  recentErrors(): RecentError[] {
    const out: RecentError[] = [];
    const n = this.#errors.length;
    for (let i = 1; i <= n; i++) {
      const entry = this.#errors[(this.#next - i + n) % n];
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  #deployment(id: string): DeploymentActivity | null {
    let entry = this.deployments.get(id);
    if (entry === undefined) {
      if (this.deployments.size >= MAX_TRACKED) return null;
      entry = { requests: new MinuteCounter(), errors: new MinuteCounter() };
      this.deployments.set(id, entry);
    }
    return entry;
  }

  #key(id: string): KeyActivity | null {
    let entry = this.keys.get(id);
    if (entry === undefined) {
      if (this.keys.size >= MAX_TRACKED) return null;
      entry = { requests: new MinuteCounter(), errors: new MinuteCounter(), tokens: new MinuteCounter(), spend: 0, budgetRemaining: null };
      this.keys.set(id, entry);
    }
    return entry;
  }
}
