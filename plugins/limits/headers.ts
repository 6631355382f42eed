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

/**
 * The last number written to a header and its text. Limits seldom change and a reset moves by the second, so most
 * responses reuse the text instead of formatting a number (a large one, such as a token limit, is slow to format).
 */
class LastText {
  #key = NaN;
  #text = '';

  of(key: number, format: (key: number) => string): string {
    if (key !== this.#key) {
      this.#key = key;
      this.#text = format(key);
    }
    return this.#text;
  }
}

const LAST = {
  requests: { limit: new LastText(), remaining: new LastText(), reset: new LastText() },
  tokens: { limit: new LastText(), remaining: new LastText(), reset: new LastText() },
};

/** formatReset's text depends only on this key: the milliseconds under a second, else the seconds (negative). */
function resetKey(ms: number): number {
  return ms < 1000 ? Math.max(0, Math.ceil(ms)) : -Math.ceil(ms / 1000);
}

function resetText(key: number): string {
  return key >= 0 ? `${key}ms` : formatReset(-key * 1000);
}

/** Writes `x-ratelimit-{limit,remaining,reset}-<unit>` into `into`. */
export function rateLimitHeaders(into: Record<string, string>, unit: 'requests' | 'tokens', decision: LimitDecision): void {
  const names = NAMES[unit];
  const last = LAST[unit];
  into[names.limit] = last.limit.of(decision.limit, String);
  into[names.remaining] = last.remaining.of(Math.max(0, decision.remaining), String);
  into[names.reset] = last.reset.of(resetKey(decision.resetMs), resetText);
}

/** The 429 every limit plugin answers with: `Retry-After` in whole seconds plus the rate-limit headers. */
export function rateLimited(message: string, retryAfterMs: number, headers: Record<string, string>, details: Record<string, string | number>): SluiceError {
  return new SluiceError('SLUICE_RATE_LIMITED', message, {
    headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    details: { ...details, retry_after_s: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
  });
}
