// Cost of one request from its deployment's model_info prices, and budget periods from LiteLLM's durations.

import type { Usage } from '../../core/plugin/api.ts';

/** LiteLLM's price keys in `model_info`, in USD. */
export interface Prices {
  readonly inputPerToken: number;
  readonly outputPerToken: number;
  /** Charged on the response time (LiteLLM's per-second pricing for hosted endpoints). */
  readonly inputPerSecond: number;
  readonly outputPerSecond: number;
}

function price(info: Readonly<Record<string, unknown>>, key: string): number {
  const value = info[key];
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : 0;
  // LiteLLM's price file and configs sometimes write prices as strings ("1.5e-07").
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) && parsed >= 0 ? parsed : 0;
  }
  return 0;
}

/** The prices a deployment's `model_info` gives; null when it names none (the request costs nothing known). */
export function pricesOf(info: Readonly<Record<string, unknown>>): Prices | null {
  const prices: Prices = {
    inputPerToken: price(info, 'input_cost_per_token'),
    outputPerToken: price(info, 'output_cost_per_token'),
    inputPerSecond: price(info, 'input_cost_per_second'),
    outputPerSecond: price(info, 'output_cost_per_second'),
  };
  const any = prices.inputPerToken + prices.outputPerToken + prices.inputPerSecond + prices.outputPerSecond;
  return any > 0 ? prices : null;
}

/** USD for one request: tokens at their prices, plus the per-second prices times the response time. */
export function requestCost(prices: Prices, usage: Usage | null, seconds: number): number {
  const prompt = usage?.promptTokens ?? 0;
  const completion = usage?.completionTokens ?? 0;
  const time = seconds > 0 ? seconds : 0;
  return prompt * prices.inputPerToken + completion * prices.outputPerToken + time * (prices.inputPerSecond + prices.outputPerSecond);
}

/** A budget duration: a fixed length, or calendar months (LiteLLM's `mo`). */
export type Duration = { readonly ms: number; readonly months: 0 } | { readonly ms: 0; readonly months: number };

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses LiteLLM's `budget_duration`: `30s`, `15m`, `1h`, `30d`, `2w`, `1mo`. Throws on anything else. */
export function parseDuration(text: string): Duration {
  const match = /^([1-9][0-9]*)(s|m|h|d|w|mo)$/.exec(text);
  if (match === null) throw new RangeError(`budget_duration "${text}" is not a duration like 30s, 1h, 30d or 1mo`);
  const count = Number(match[1]);
  if (match[2] === 'mo') return { ms: 0, months: count };
  return { ms: count * UNIT_MS[match[2]!]!, months: 0 };
}

/** One budget period: spend is counted from `start` and starts again at 0 at `end` (epoch ms). */
export interface Period {
  readonly start: number;
  readonly end: number;
}

/**
 * The period holding `now`. Periods are aligned to the Unix epoch (a `1d` budget resets at 00:00 UTC, `1h` on the
 * hour; months start on the 1st, counted from January 1970) rather than to when a key was first used: every replica
 * agrees on the period from the clock alone, with nothing stored about the key.
 */
export function periodAt(duration: Duration, now: number): Period {
  if (duration.months === 0) {
    const start = Math.floor(now / duration.ms) * duration.ms;
    return { start, end: start + duration.ms };
  }
  const date = new Date(now);
  const monthIndex = (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
  const first = Math.floor(monthIndex / duration.months) * duration.months;
  const start = Date.UTC(1970, first, 1);
  return { start, end: Date.UTC(1970, first + duration.months, 1) };
}
