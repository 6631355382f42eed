// Passive health: what failed attempts say about a deployment (failures per minute, cooldowns), and why a model
// group has nobody left to take a request.

import type { Deployment, ModelGroup } from '../config/models.ts';
import type { ErrorClass, RouterSettings } from '../config/router-settings.ts';
import { SluiceError } from '../errors.ts';
import type { RouterState } from '../state/router-state.ts';

export class PassiveHealth {
  readonly #state: RouterState;
  readonly #settings: RouterSettings;

  constructor(state: RouterState, settings: RouterSettings) {
    this.#state = state;
    this.#settings = settings;
  }

  /** Failures beyond the allowed count cool the deployment down; a 429 cools it for its Retry-After. */
  recordFailure(deployment: Deployment, cls: ErrorClass, message: string, retryAfterMs: number | null, now = Date.now()): void {
    // The client's own mistakes say nothing about the deployment.
    if (cls === 'bad_request' || cls === 'content_policy') return;
    const state = this.#state;
    const fails = state.addFailure(deployment.id, cls, now);
    const detail = `${message} (deployment ${deployment.id})`;
    if (cls === 'rate_limit') {
      state.coolDown(deployment.id, now + (retryAfterMs ?? this.#settings.cooldownMs), detail, now);
    } else if (fails > this.#settings.allowedFails[cls]) {
      state.coolDown(deployment.id, now + this.#settings.cooldownMs, detail, now);
    } else {
      state.noteError(deployment.id, detail, now);
    }
  }

  /** A 503 that says why: how many deployments are cooling down, unhealthy or busy, and the last upstream error. */
  noDeployment(group: ModelGroup, lastError: string | null, now = Date.now()): SluiceError {
    const state = this.#state;
    let cooling = 0;
    let unhealthy = 0;
    let busy = 0;
    let soonest = Infinity;
    for (const d of group.deployments) {
      const reason = state.unavailable(d.id, now);
      const health = state.health(d.id);
      if (reason === 'cooldown') {
        cooling++;
        soonest = Math.min(soonest, health.coolingUntil);
      } else if (reason === 'unhealthy') unhealthy++;
      else if (d.maxParallelRequests !== null && state.inFlight(d.id) >= d.maxParallelRequests) busy++;
      if (lastError === null && health.lastError !== null) lastError = health.lastError;
    }
    const parts: string[] = [];
    if (cooling > 0) parts.push(`${cooling} cooling down`);
    if (unhealthy > 0) parts.push(`${unhealthy} unhealthy`);
    if (busy > 0) parts.push(`${busy} at max_parallel_requests`);
    const n = group.deployments.length;
    const why = n === 0 ? 'it has no deployments' : parts.length > 0 ? `of ${n} deployment${n === 1 ? '' : 's'}, ${parts.join(', ')}` : 'every deployment failed';
    const retryAfter = soonest === Infinity ? null : String(Math.max(1, Math.ceil((soonest - now) / 1000)));
    return new SluiceError(
      'SLUICE_NO_DEPLOYMENT',
      `No deployment of model group "${group.name}" can take the request: ${why}.${lastError === null ? '' : ` Last error: ${lastError}`}`,
      { details: { model: group.name, cooling, unhealthy, busy, ...(retryAfter === null ? {} : { retry_after_s: Number(retryAfter) }) }, headers: retryAfter === null ? {} : { 'retry-after': retryAfter } },
    );
  }
}
