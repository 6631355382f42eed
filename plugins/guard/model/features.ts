// The learned prompt-injection classifier's features, shared by training (train.ts) and scanning (classifier.ts)
// so the two can never disagree.
//
// Over the normalised text (normalize.ts: lower case, width, confusables, leetspeak, base64 decodings appended):
//   - hashed character 2-, 3- and 4-grams, spaces included: they need no word splitting, so Han, kana, Hangul and
//     Arabic get the same treatment as Latin, and a misspelled or inflected word still shares most of its grams;
//   - hashed word unigrams and bigrams (scripts with spaces), for phrases a char 4-gram cannot span.
// Each feature lands in one of 2^BUCKET_BITS buckets (FNV-1a, salted by kind). A bucket counts once however often
// it occurs (presence, not counts), and the sum is divided by √(distinct buckets): a long or repetitive text does
// not score higher for its length alone.
//
// The rule groups of the heuristic scanner (override, role, leak, markup, …) are dense features next to these.

import { prepare, words, type Normalized } from '../normalize.ts';

export const BUCKET_BITS = 18;
export const BUCKETS = 1 << BUCKET_BITS;
const MASK = BUCKETS - 1;

const SALT_WORD = 0x9e3779b1 | 0;
const SALT_BIGRAM = 0x85ebca6b | 0;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Scratch buffers, grown on demand and reused: a scan allocates nothing per feature. */
let BUCKET_BUF = new Int32Array(4096);
let POSITION_BUF = new Int32Array(4096);

/** The hashed features of one text: bucket and the text position it starts at (for windowed scoring). */
export interface HashedFeatures {
  readonly count: number;
  /** Features [0, charCount) are char n-grams, [charCount, count) word n-grams; each part in position order. */
  readonly charCount: number;
  /** Valid for `count` entries, until the next call (scratch buffers). */
  readonly buckets: Int32Array;
  readonly positions: Int32Array;
  /** Length of the normalised text. */
  readonly length: number;
  readonly normalized: Normalized;
}

function grow(need: number): void {
  if (BUCKET_BUF.length >= need) return;
  const size = Math.max(need, BUCKET_BUF.length * 2);
  BUCKET_BUF = new Int32Array(size);
  POSITION_BUF = new Int32Array(size);
}

/** Hashes the features of `text`. `wordGrams: false` leaves out the word n-grams (training's ablation only). */
export function hashFeatures(text: string, wordGrams = true): HashedFeatures {
  const n = prepare(text);
  const t = n.text;
  const len = t.length;
  const w = words(n);
  grow(len * 3 + w.count * 2 + 8);
  const buckets = BUCKET_BUF;
  const positions = POSITION_BUF;
  let k = 0;
  for (let i = 0; i < len; i++) {
    let h = FNV_OFFSET;
    h = Math.imul(h ^ t.charCodeAt(i), FNV_PRIME);
    for (let g = 1; g < 4 && i + g < len; g++) {
      h = Math.imul(h ^ t.charCodeAt(i + g), FNV_PRIME);
      // Salt by gram length, then a final mix so nearby hashes spread over the buckets.
      let x = h ^ (g * 0x27d4eb2d);
      x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
      buckets[k] = (x ^ (x >>> 13)) & MASK;
      positions[k++] = i;
    }
  }
  const charCount = k;
  let prev = 0;
  for (let j = 0; wordGrams && j < w.count; j++) {
    const h = w.hashes[j]!;
    let x = Math.imul(h ^ SALT_WORD, 0x2c1b3c6d);
    buckets[k] = (x ^ (x >>> 13)) & MASK;
    positions[k++] = w.starts[j]!;
    if (j > 0) {
      x = Math.imul((prev * 31) ^ h ^ SALT_BIGRAM, 0x2c1b3c6d);
      buckets[k] = (x ^ (x >>> 13)) & MASK;
      positions[k++] = w.starts[j]!;
    }
    prev = h;
  }
  return { count: k, charCount, buckets, positions, length: len, normalized: n };
}
