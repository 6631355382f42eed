// The learned prompt-injection classifier: logistic regression over hashed n-grams (features.ts) and the heuristic
// rule groups. Weights come from `prompt-injection.model.bin`, written by `npm run train:guard` (train.ts).
//
// The file is read on the first `loadInjectionModel()`, which only a configured prompt_injection guard calls, so
// a gateway without that guard never holds the weights.
//
// Long texts: an injection hidden in a long document must not be diluted by the rest of it, so the hashed part is
// scored over windows of WINDOW normalised characters (every STRIDE) and the strongest window counts. A text that
// fits in one window is scored whole, as in training. Features are presences: a bucket counts once per window.
//
// File format (little-endian): "SLPI" magic, u32 version, u32 header length, the header as UTF-8 JSON
// (`ModelHeader`), then BUCKETS int8 weights; weight = int8 × header.scale.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUCKET_BITS, BUCKETS, hashFeatures } from './features.ts';

export const MODEL_FILE = fileURLToPath(new URL('./prompt-injection.model.bin', import.meta.url));
const MAGIC = 0x49504c53; // "SLPI"
const VERSION = 1;

/** Normalised characters per scoring window, and the step between windows. */
export const WINDOW = 512;
export const STRIDE = 256;
/**
 * A window's sum is divided by √(max(distinct buckets, NORM_FLOOR)): a text of a few words keeps its few weights
 * near their size instead of being scaled up to a long text's, so "hello" cannot score like a paragraph of attack.
 */
export const NORM_FLOOR = 64;

/** The groups of the heuristic rules, in the order of their dense features. */
export const RULE_GROUPS = ['override', 'new_task', 'switch', 'role', 'jailbreak', 'leak', 'coerce', 'context', 'markup', 'obfuscation'] as const;

export interface ModelHeader {
  readonly bucketBits: number;
  readonly scale: number;
  readonly bias: number;
  /** Whether word n-grams are hashed too (chosen by measurement in train.ts). */
  readonly wordGrams: boolean;
  /** The normalisation floor (NORM_FLOOR) the weights were trained with; absent in older files: 1. */
  readonly normFloor?: number;
  /** The rule groups are read outside quotations only (`RuleEvidence.groupsOutsideQuotes`); absent in older files. */
  readonly ruleGroupsOutsideQuotes?: boolean;
  /** One weight per RULE_GROUPS entry (all 0 when the chosen configuration leaves the rules out). */
  readonly ruleWeights: readonly number[];
  /** What produced it: seed, data, held-out figures at the time (information). */
  readonly trainedOn: Readonly<Record<string, unknown>>;
}

export interface InjectionModel {
  readonly header: ModelHeader;
  /** Hashed-feature weights, quantised. */
  readonly weights: Int8Array;
}

export interface ModelScore {
  /** 0..1. */
  readonly probability: number;
  /** The strongest window, in the normalised text. */
  readonly windowStart: number;
  readonly windowEnd: number;
}

export function encodeModel(model: InjectionModel): Buffer {
  const header = Buffer.from(JSON.stringify(model.header), 'utf8');
  const out = Buffer.alloc(12 + header.length + model.weights.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  Buffer.from(model.weights.buffer, model.weights.byteOffset, model.weights.length).copy(out, 12 + header.length);
  return out;
}

export function decodeModel(bytes: Buffer): InjectionModel {
  if (bytes.length < 12 || bytes.readUInt32LE(0) !== MAGIC) throw new Error('prompt_injection model: not a Sluice model file');
  if (bytes.readUInt32LE(4) !== VERSION) throw new Error(`prompt_injection model: version ${bytes.readUInt32LE(4)}, expected ${VERSION}`);
  const headerLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as ModelHeader;
  if (header.bucketBits !== BUCKET_BITS || header.ruleWeights.length !== RULE_GROUPS.length) {
    throw new Error('prompt_injection model: built for other features; run `npm run train:guard`');
  }
  const body = bytes.subarray(12 + headerLength);
  if (body.length !== BUCKETS) throw new Error(`prompt_injection model: ${body.length} weights, expected ${BUCKETS}`);
  const weights = new Int8Array(BUCKETS);
  weights.set(new Int8Array(body.buffer, body.byteOffset, body.length));
  return { header, weights };
}

let loaded: InjectionModel | undefined;
let loads = 0;

/** The shipped model, read once on first use. */
export function loadInjectionModel(): InjectionModel {
  if (loaded === undefined) {
    loaded = decodeModel(readFileSync(MODEL_FILE));
    loads++;
  }
  return loaded;
}

/** How many times the weights file was read in this process (0 until a prompt_injection guard is configured). */
export function modelLoads(): number {
  return loads;
}

/**
 * Per bucket, the serial of the block (STRIDE characters) that last counted it: presence per block without clearing
 * 2^18 entries per block, and "was it in the block before?" for the window that spans both. Two bytes each keeps
 * it, with the weights, small enough to stay in cache.
 */
let MARKS: Uint16Array | undefined;
let serial = 0;
const MAX_SERIAL = 0xffff;

/**
 * Scores `text` given the rule groups' strongest weights (RULE_GROUPS order): each window's distinct buckets are
 * summed and divided by √(max(their number, the floor)), and the strongest window counts.
 *
 * A window is two consecutive blocks of STRIDE characters (WINDOW = 2 × STRIDE), so each feature is visited once:
 * a block's sum and distinct count are kept, and the window ending at a block adds only that block's buckets the
 * block before did not have.
 */
export function scoreText(model: InjectionModel, text: string, ruleGroups: ArrayLike<number>): ModelScore {
  const { header, weights } = model;
  let dense = header.bias;
  for (let g = 0; g < RULE_GROUPS.length; g++) dense += header.ruleWeights[g]! * ruleGroups[g]!;
  const f = hashFeatures(text, header.wordGrams);
  const floor = header.normFloor ?? 1;
  const marks = (MARKS ??= new Uint16Array(weights.length));
  const len = f.length;
  // Windows start at 0, STRIDE, … up to the first that reaches the end; window k is blocks k and k + 1.
  const lastWindow = len <= WINDOW ? 0 : Math.ceil((len - WINDOW) / STRIDE);
  // A serial of its own for this call's first block's predecessor, so no mark left by an earlier call matches it.
  serial++;
  let best = -Infinity;
  let bestWindow = 0;
  let charAt = 0;
  let wordAt = f.charCount;
  let previousSum = 0;
  let previousDistinct = 0;
  for (let block = 0; block <= lastWindow + 1; block++) {
    if (serial >= MAX_SERIAL - 1) restartSerials(marks, f, block);
    const current = ++serial;
    const previous = current - 1;
    const end = (block + 1) * STRIDE;
    let blockSum = 0;
    let blockDistinct = 0;
    let newSum = 0;
    let newDistinct = 0;
    for (let part = 0; part < 2; part++) {
      let k = part === 0 ? charAt : wordAt;
      const stop = part === 0 ? f.charCount : f.count;
      for (; k < stop && f.positions[k]! < end; k++) {
        const b = f.buckets[k]!;
        const mark = marks[b]!;
        if (mark === current) continue;
        marks[b] = current;
        const w = weights[b]!;
        blockSum += w;
        blockDistinct++;
        if (mark !== previous) {
          newSum += w;
          newDistinct++;
        }
      }
      if (part === 0) charAt = k;
      else wordAt = k;
    }
    if (block > 0) {
      const distinct = previousDistinct + newDistinct;
      const sum = previousSum + newSum;
      const s = distinct === 0 ? 0 : sum / Math.sqrt(Math.max(distinct, floor));
      if (s > best) {
        best = s;
        bestWindow = block - 1;
      }
    }
    previousSum = blockSum;
    previousDistinct = blockDistinct;
  }
  const z = dense + best * header.scale;
  const windowStart = bestWindow * STRIDE;
  return { probability: 1 / (1 + Math.exp(-z)), windowStart, windowEnd: Math.min(len, windowStart + WINDOW) };
}

/**
 * The block serials ran out (a text of about 16 MB, or many texts): clear the marks and mark the block before
 * `block` again, as the window ending at `block` needs to know what it held.
 */
function restartSerials(marks: Uint16Array, f: ReturnType<typeof hashFeatures>, block: number): void {
  marks.fill(0);
  serial = 1;
  if (block === 0) return;
  const from = (block - 1) * STRIDE;
  const to = block * STRIDE;
  for (let k = 0; k < f.count; k++) {
    const p = f.positions[k]!;
    if (p >= from && p < to) marks[f.buckets[k]!] = 1;
  }
}
