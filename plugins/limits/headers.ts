// OpenAI's rate-limit headers and the 429 they go with.

import { SluiceError, type LimitDecision } from '../../core/plugin/api.ts';

/** OpenAI writes reset times as `1s`, `6m0s`, `120ms`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes === 0 ? `${seconds}s` : `${minutes}m${seconds % 60}s`;
}

/** The header names per unit, spelled once: names built per request cost a string and a lookup each time. */
const NAMES = {
  requests: { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  tokens: { limit: 'x-ratelimit-limit-tokens', remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
} as const;

/** Writes `x-ratelimit-{limit,remaining,reset}-<unit>` into `into`. */
export function rateLimitHeaders(into: Record<string, string>, unit: 'requests' | 'tokens', decision: LimitDecision): void {
  const names = NAMES[unit];
  into[names.limit] = String(decision.limit);
  into[names.remaining] = String(Math.max(0, decision.remaining));
  into[names.reset] = formatReset(decision.resetMs);
}

/** The 429 every limit plugin answers with: `Retry-After` in whole seconds plus the rate-limit headers. */
export function rateLimited(message: string, retryAfterMs: number, headers: Record<string, string>, details: Record<string, string | number>): SluiceError {
  return new SluiceError('SLUICE_RATE_LIMITED', message, {
    headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    details: { ...details, retry_after_s: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
  });
}
