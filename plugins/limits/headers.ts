// OpenAI's rate-limit headers and the 429 they go with.

import { SluiceError, type LimitDecision } from '../../core/plugin/api.ts';

/** OpenAI writes reset times as `1s`, `6m0s`, `120ms`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes === 0 ? `${seconds}s` : `${minutes}m${seconds % 60}s`;
}

/** Writes `x-ratelimit-{limit,remaining,reset}-<unit>` into `into`. */
export function rateLimitHeaders(into: Record<string, string>, unit: 'requests' | 'tokens', decision: LimitDecision): void {
  into[`x-ratelimit-limit-${unit}`] = String(decision.limit);
  into[`x-ratelimit-remaining-${unit}`] = String(Math.max(0, decision.remaining));
  into[`x-ratelimit-reset-${unit}`] = formatReset(decision.resetMs);
}

/** The 429 every limit plugin answers with: `Retry-After` in whole seconds plus the rate-limit headers. */
export function rateLimited(message: string, retryAfterMs: number, headers: Record<string, string>, details: Record<string, string | number>): SluiceError {
  return new SluiceError('SLUICE_RATE_LIMITED', message, {
    headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    details: { ...details, retry_after_s: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
  });
}
