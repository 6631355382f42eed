// token_limit: is the text within `limit` tokens? A cheap one-pass estimate decides when it is clearly below or
// clearly above the limit; only in between is the text run through the real tokenizer (gpt-tokenizer, o200k_base or
// cl100k_base, bundled in the package: nothing is downloaded). Counting a 4 KB Chinese prompt costs 0.3–0.9 ms,
// the estimate a few µs.
//
// The estimate counts what BPE tokenizers charge for: a token per ordinary word (more for long or all-capital
// words), digits in threes, punctuation (repeats merge), per character for Han, kana, Hangul, Cyrillic and Arabic,
// random-looking runs (base64, hex, ids) at under two characters per token, and emoji at two or three.
//
// How sure it is depends on length: a short text can be off by 2× (a few unusual words), a long one averages out.
// Over every text of the data sets and the written corpus in eight languages, alone and joined into 1,000-, 4,000-
// and 16,000-character texts, plus source code, Markdown, JSON, base64, hex, aligned tables and rules of dashes, the
// exact count stayed under estimate × (1 + m), m = 0.15 + 6/√estimate (0.9 at 64 tokens, 0.34 at 1,000, 0.25 at
// 3,500), and above estimate × (1 − m − 0.2) (deeply indented code comes in low). So the estimate says "within"
// and "over" only outside those bounds; below 64 estimated tokens the count is always exact (it is cheap there).
// A text crafted to tokenize badly (rare Han characters, random Unicode) can still fool it: the scanner keeps
// prompts to a size, it is not a security boundary.
//
// The exact count goes through the tokenizer in stretches of at most 256 characters, cut where its pieces break (a
// blank after a word, punctuation after a letter), so the count is the whole text's (on 14,275 test texts, one was
// a token off); only a run of one kind longer
// than that (a line of 10,000 Han characters without punctuation, a wall of dashes) is cut where it falls, a few
// tokens off. Whole, such a run is one piece, and the tokenizer's merging is quadratic in a piece: 128 K spaces took
// 5 s.

import { createRequire } from 'node:module';
import type { ScanResult, Scanner } from '../types.ts';

export interface TokenLimitOptions {
  /** Most tokens allowed. */
  limit: number;
  /** Default o200k_base (GPT-4o and later); cl100k_base for GPT-4 and GPT-3.5. */
  encoding?: 'o200k_base' | 'cl100k_base';
  /**
   * Count exactly when the estimate is within this fraction of the limit. Default: by length, 0.15 + 6/√estimate
   * (see the top of this file).
   */
  margin?: number;
}

export interface TokenLimitResult extends ScanResult {
  /** The token count: exact when `exact`, else the estimate. When over the limit and exact, at least limit + 1. */
  tokens: number;
  exact: boolean;
}

/** The part of gpt-tokenizer's encoding the scanner uses. */
export interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

const require = createRequire(import.meta.url);
const encoders = new Map<string, Encoder>();

/** Loads the encoding once (about 0.2 s for o200k_base), at scanner creation rather than on the first request. */
function encoder(name: string): Encoder {
  let e = encoders.get(name);
  if (e === undefined) {
    e = require(`gpt-tokenizer/encoding/${name}`) as Encoder;
    encoders.set(name, e);
  }
  return e;
}

/** Special-token text ("<|endoftext|>") is counted as ordinary text, never refused. */
const ORDINARY = { disallowedSpecial: new Set<string>() };

/** Tokens per character where the encodings differ most: cl100k_base spends far more on non-Latin scripts. */
interface Weights {
  han: number;
  kana: number;
  hangul: number;
  cyrillic: number;
  arabic: number;
  accent: number;
  /** Any other character outside ASCII (Thai, Khmer, Devanagari, symbols, …). */
  other: number;
}

const WEIGHTS: Record<'o200k_base' | 'cl100k_base', Weights> = {
  o200k_base: { han: 0.85, kana: 0.7, hangul: 0.84, cyrillic: 0.295, arabic: 0.4, accent: 0.35, other: 0.7 },
  cl100k_base: { han: 1.32, kana: 1.05, hangul: 1.35, cyrillic: 0.5, arabic: 0.8, accent: 1.1, other: 1.3 },
};

/** A tokenizer-free estimate of the BPE token count (see the top of this file). */
export function estimateTokens(s: string, encoding: 'o200k_base' | 'cl100k_base' = 'o200k_base'): number {
  const weights = WEIGHTS[encoding];
  let t = 0;
  let runLen = 0;
  let digits = 0;
  let switches = 0;
  let accents = 0;
  let capitals = 0;
  let prevClass = 0;
  let prevPunct = 0;
  let repeats = 0;
  let spaces = 0;
  let tabs = 0;
  for (let i = 0; i <= s.length; i++) {
    // -1 past the end: ends the last run.
    const c = i < s.length ? s.charCodeAt(i) : -1;
    let cls = 0;
    if (c >= 97 && c <= 122) cls = 1;
    else if (c >= 65 && c <= 90) cls = 2;
    else if (c >= 48 && c <= 57) cls = 3;
    else if ((c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) || (c >= 0x1e00 && c <= 0x1eff)) cls = 4;
    if (spaces + tabs > 0 && c !== 32 && c !== 9) {
      // A single space belongs to the next word; a run of blanks (aligned columns, indentation) is about one token
      // per 64 spaces or 16 tabs, not free.
      t += spaces + tabs > 1 ? 1 + spaces / 64 + tabs / 16 : tabs * 0.3;
      spaces = tabs = 0;
    }
    if (cls !== 0) {
      prevPunct = 0;
      if (cls === 3) digits++;
      else if (cls === 4) {
        accents++;
        if (c < 0xdf || (c < 0x250 && (c & 1) === 0) || (c >= 0x1e00 && (c & 1) === 0)) capitals++;
      } else if (cls === 2) capitals++;
      // Case or letter/digit switches inside a run ("aGVsbG8", "f3a9c1"); a capital first letter is not one.
      if (prevClass !== 0 && cls !== prevClass && !(prevClass === 2 && cls === 1 && runLen === 1)) switches++;
      prevClass = cls;
      runLen++;
      continue;
    }
    if (runLen > 0) {
      if (runLen === digits) t += Math.ceil(digits / 3);
      else if (runLen >= 12 && (digits > 0 || switches >= 3)) t += runLen / 1.6;
      // All capitals ("URGENT", "ĐÉO") split into more pieces than the same word in lower case.
      else if (capitals === runLen && runLen > 1) t += 1 + runLen / 3;
      else t += 1 + Math.floor(runLen / 8) * 0.5 + digits / 3 + accents * weights.accent;
      runLen = digits = switches = accents = capitals = prevClass = 0;
    }
    if (c === 32) {
      spaces++;
      prevPunct = 0;
      continue;
    }
    if (c === 9) {
      tabs++;
      prevPunct = 0;
      continue;
    }
    if (c === -1) break;
    if (c < 128) {
      // Punctuation: repeats ("======", "----", "......") merge, about one token per 64 past the first few.
      if (c === prevPunct) t += ++repeats < 4 ? 0.2 : 1 / 64;
      else {
        t += c === 10 ? 0.3 : 0.7;
        repeats = 0;
      }
      prevPunct = c;
      continue;
    }
    prevPunct = 0;
    if (c >= 0x3040 && c <= 0x30ff) t += weights.kana;
    else if ((c >= 0x3100 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff)) t += weights.han;
    else if (c >= 0xac00 && c <= 0xd7a3) t += weights.hangul;
    else if (c >= 0x400 && c <= 0x52f) t += c < 0x430 ? weights.cyrillic * 2 : weights.cyrillic;
    else if (c >= 0x600 && c <= 0x6ff) t += weights.arabic;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // Emoji and other astral characters: four UTF-8 bytes, usually two or three byte-level tokens.
      t += 2.5;
      i++;
    } else if (c >= 0x2000 && c <= 0x2bff) t += 1.2; // arrows, dingbats, symbols
    else t += weights.other;
  }
  return Math.ceil(t);
}

/** Below this estimate the text is always counted exactly: short texts vary most, and counting them is cheap. */
const MIN_ESTIMATE_TO_DECIDE = 64;
/** Code with deep indentation comes in up to a third under the estimate, so "over" needs more room than "within". */
export const OVER_SLACK = 0.2;

/** How far the exact count may be from an estimate of this size, as a fraction (measured; see the top of this file). */
export function estimateMargin(estimate: number): number {
  return 0.15 + 6 / Math.sqrt(Math.max(1, estimate));
}

/** The longest stretch handed to the tokenizer at once: its merge step is quadratic in a piece's length. */
const MAX_COUNTED_CHARS = 256;

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Letters of the scripts that run without spaces, and ASCII letters (a word piece ends after one). */
function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3);
}

/** Sentence punctuation that starts a new piece after a letter (not the apostrophe of "it's"). */
function isPunctuation(c: number): boolean {
  return c === 0x2c || c === 0x2e || c === 0x21 || c === 0x3f || c === 0x3b || c === 0x3a || (c >= 0x3001 && c <= 0x3002) || c === 0xff0c || c === 0xff01 || c === 0xff1f || c === 0xff1b || c === 0xff1a;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

/**
 * The end of the stretch that starts at `start`: at most MAX_COUNTED_CHARS on, moved back to a blank that follows a
 * non-blank character when there is one (the tokenizer's pieces always break there, so the count is unchanged);
 * otherwise cut where it falls (a long run of one kind: a few tokens more than counted whole), never inside a
 * surrogate pair.
 */
function stretchEnd(text: string, start: number): number {
  const end = start + MAX_COUNTED_CHARS;
  if (end >= text.length) return text.length;
  for (let b = end; b > start + 1; b--) {
    const c = text.charCodeAt(b);
    const before = text.charCodeAt(b - 1);
    if (isBlank(c) && !isSpace(before)) return b;
    if (isPunctuation(c) && isLetter(before)) return b;
  }
  return isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end;
}

/**
 * The longest prefix of `stretch` (at most MAX_COUNTED_CHARS) that counts at most `budget` tokens, by bisection.
 * Counting prefixes, rather than decoding the first tokens, never splits a character (a token may end inside one).
 */
function longestPrefixWithin(enc: Encoder, stretch: string, budget: number): number {
  let lo = 0;
  let hi = stretch.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (enc.countTokens(stretch.slice(0, mid), ORDINARY) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 && isHighSurrogate(stretch.charCodeAt(lo - 1)) ? lo - 1 : lo;
}

/**
 * The exact count, stretch by stretch, and where the limit falls (the text's length when it is not passed). Counting
 * in stretches keeps the time linear in the text: whole, 128 K spaces or a long line of Han characters without
 * punctuation took seconds, the tokenizer's merge being quadratic in one piece.
 */
export function countTokensInStretches(enc: Encoder, text: string, limit: number): { count: number; cut: number } {
  let count = 0;
  let cut = text.length;
  for (let start = 0; start < text.length; ) {
    const end = stretchEnd(text, start);
    const stretch = text.slice(start, end);
    const n = enc.countTokens(stretch, ORDINARY);
    if (cut === text.length && count + n > limit) cut = start + longestPrefixWithin(enc, stretch, limit - count);
    count += n;
    start = end;
  }
  return { count, cut };
}

export function createTokenLimitScanner(options: TokenLimitOptions): Scanner<TokenLimitResult> {
  const limit = options.limit;
  if (!Number.isInteger(limit) || limit < 1) throw new Error('token_limit: limit must be a positive integer');
  const fixedMargin = options.margin;
  if (fixedMargin !== undefined && !(fixedMargin >= 0 && fixedMargin < 1)) throw new Error('token_limit: margin must be in [0, 1)');
  const encoding = options.encoding ?? 'o200k_base';
  const enc = encoder(encoding);

  return {
    name: 'token_limit',
    scan(text: string): TokenLimitResult {
      const estimate = estimateTokens(text, encoding);
      let clearlyWithin: boolean;
      let clearlyOver: boolean;
      if (fixedMargin !== undefined) {
        clearlyWithin = estimate < limit * (1 - fixedMargin);
        clearlyOver = estimate > limit * (1 + fixedMargin);
      } else {
        const margin = estimateMargin(estimate);
        clearlyWithin = estimate >= MIN_ESTIMATE_TO_DECIDE && estimate * (1 + margin) < limit;
        clearlyOver = estimate >= MIN_ESTIMATE_TO_DECIDE && estimate * (1 - margin - OVER_SLACK) > limit;
      }
      if (clearlyWithin) return { score: Math.min(0.99, estimate / limit), flagged: false, matches: [], tokens: estimate, exact: false };
      if (clearlyOver) {
        // The cut is placed in proportion, as the estimate is all there is.
        const cut = Math.floor((text.length * limit) / estimate);
        return { score: 1, flagged: true, matches: [{ rule: 'token_limit', start: cut, end: text.length }], tokens: estimate, exact: false };
      }
      const { count, cut } = countTokensInStretches(enc, text, limit);
      if (count <= limit) return { score: Math.min(0.99, count / limit), flagged: false, matches: [], tokens: count, exact: true };
      return { score: 1, flagged: true, matches: [{ rule: 'token_limit', start: Math.min(cut, text.length), end: text.length }], tokens: count, exact: true };
    },
  };
}
