// Trains the prompt-injection classifier and writes plugins/guard/model/prompt-injection.model.bin.
//
//   npm run train:guard                     (SLUICE_DATASETS=/path to use another copy of the shared data sets)
//
// Deterministic: the rows are read in a fixed order and shuffled with a fixed seed, so the same data gives the
// same file, byte for byte. Steps:
//   1. rows: corpus.ts (whole prompts written by hand in eight languages) + the shared data sets;
//   2. a validation split (20% of rows, by a hash of the text) picks the configuration (features, L2) and shows
//      the threshold's trade-off; the held-out sets (data/fresh-a.jsonl … data/fresh-e.jsonl) are never read here;
//   3. the chosen configuration is refitted on every row, quantised to int8 and written.
//
// The model: logistic regression, trained with AdaGrad on the log loss, classes weighted to count equally.
//
// For experiments only (the shipped file uses the defaults): TRAIN_ONLY="<configuration name>" trains just that
// configuration; TRAIN_EPOCHS and TRAIN_LR change the epochs (14) and the learning rate (0.3).

import { writeFileSync } from 'node:fs';
import { ruleEvidence } from '../scanners/prompt-injection.ts';
import { BUCKET_BITS, BUCKETS, hashFeatures } from './features.ts';
import { encodeModel, MODEL_FILE, NORM_FLOOR, RULE_GROUPS, scoreText, type InjectionModel } from './classifier.ts';
import { inValidation, seededRandom, sharedDatasetsDir, sharedRows, writtenRows, type CorpusRow } from './corpus.ts';

const ORDER_SEED = 11;
const VALIDATION_SHARE = 0.2;
const EPOCHS = Number(process.env['TRAIN_EPOCHS'] ?? 14);
const LEARNING_RATE = Number(process.env['TRAIN_LR'] ?? 0.3);

export interface Config {
  readonly name: string;
  readonly wordGrams: boolean;
  readonly rules: boolean;
  readonly l2: number;
}

/** The configuration `npm run train:guard` writes (see main()). */
const SHIPPED_CONFIG = 'char + word n-grams + rule groups';

const CONFIGS: readonly Config[] = [
  { name: 'char n-grams', wordGrams: false, rules: false, l2: 1e-6 },
  { name: 'char + word n-grams', wordGrams: true, rules: false, l2: 1e-6 },
  { name: 'char + word n-grams + rule groups', wordGrams: true, rules: true, l2: 1e-6 },
  { name: 'char + word n-grams + rule groups, L2 1e-5', wordGrams: true, rules: true, l2: 1e-5 },
  { name: 'char + word n-grams + rule groups, L2 1e-7', wordGrams: true, rules: true, l2: 1e-7 },
];

export interface Example {
  readonly row: CorpusRow;
  readonly y: number;
  readonly index: Int32Array;
  readonly value: Float32Array;
  readonly groups: Float64Array;
}

/** The dense features: the rule groups outside quotations (the header says so; the scanner reads the same). */
const ruleGroups = (text: string): Float64Array => ruleEvidence(text).groupsOutsideQuotes;

export function featurize(rows: readonly CorpusRow[], wordGrams: boolean): Example[] {
  return rows.map((row) => {
    const f = hashFeatures(row.text, wordGrams);
    // Presence, as the scanner counts it (classifier.ts): each distinct bucket once, the sum over √(distinct), with
    // the same floor.
    const distinct = new Set<number>();
    for (let k = 0; k < f.count; k++) distinct.add(f.buckets[k]!);
    const index = Int32Array.from(distinct);
    const value = new Float32Array(index.length).fill(index.length === 0 ? 0 : 1 / Math.sqrt(Math.max(index.length, NORM_FLOOR)));
    return { row, y: row.label === 'injection' ? 1 : 0, index, value, groups: ruleGroups(row.text) };
  });
}

interface Weights {
  readonly w: Float64Array;
  readonly v: Float64Array;
  bias: number;
}

export function fit(examples: readonly Example[], config: Config): Weights {
  const w = new Float64Array(BUCKETS);
  const gw = new Float64Array(BUCKETS).fill(1e-8);
  const v = new Float64Array(RULE_GROUPS.length);
  const gv = new Float64Array(RULE_GROUPS.length).fill(1e-8);
  let bias = 0;
  let gb = 1e-8;
  const positives = examples.filter((e) => e.y === 1).length;
  const weightOf = [examples.length / (2 * (examples.length - positives)), examples.length / (2 * positives)];
  const rand = seededRandom(ORDER_SEED);
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      const e = examples[i]!;
      let z = bias;
      for (let k = 0; k < e.index.length; k++) z += w[e.index[k]!]! * e.value[k]!;
      if (config.rules) for (let g = 0; g < v.length; g++) z += v[g]! * e.groups[g]!;
      const p = 1 / (1 + Math.exp(-z));
      const err = (p - e.y) * weightOf[e.y]!;
      for (let k = 0; k < e.index.length; k++) {
        const b = e.index[k]!;
        const grad = err * e.value[k]! + config.l2 * w[b]!;
        gw[b]! += grad * grad;
        w[b]! -= (LEARNING_RATE * grad) / Math.sqrt(gw[b]!);
      }
      if (config.rules) {
        for (let g = 0; g < v.length; g++) {
          const grad = err * e.groups[g]!;
          gv[g]! += grad * grad;
          v[g]! -= (LEARNING_RATE * grad) / Math.sqrt(gv[g]!);
        }
      }
      gb += err * err;
      bias -= (LEARNING_RATE * err) / Math.sqrt(gb);
    }
  }
  return { w, v, bias };
}

/** int8 weights: the scale maps the 99.9th percentile of |w| to 127, larger ones are clipped. */
export function quantize(weights: Weights, config: Config, trainedOn: Record<string, unknown>): InjectionModel {
  const magnitudes = Array.from(weights.w, Math.abs)
    .filter((x) => x > 0)
    .sort((a, b) => a - b);
  const top = magnitudes[Math.floor(magnitudes.length * 0.999)] ?? 1;
  const scale = top / 127;
  const q = new Int8Array(BUCKETS);
  for (let b = 0; b < BUCKETS; b++) q[b] = Math.max(-127, Math.min(127, Math.round(weights.w[b]! / scale)));
  return {
    header: {
      bucketBits: BUCKET_BITS,
      scale,
      bias: weights.bias,
      wordGrams: config.wordGrams,
      ruleGroupsOutsideQuotes: true,
      normFloor: NORM_FLOOR,
      ruleWeights: Array.from(weights.v, (x) => (config.rules ? Math.round(x * 1e6) / 1e6 : 0)),
      trainedOn,
    },
    weights: q,
  };
}

interface Figures {
  recall: number;
  flaggedBenign: number;
}

/** Scores with the scanner's own code path (windows, quantised weights): what a deployment would see. */
function evaluate(model: InjectionModel, rows: readonly CorpusRow[], threshold: number): Figures {
  let tp = 0;
  let pos = 0;
  let fp = 0;
  let neg = 0;
  for (const r of rows) {
    const p = scoreText(model, r.text, ruleGroups(r.text)).probability;
    if (r.label === 'injection') {
      pos++;
      if (p >= threshold) tp++;
    } else {
      neg++;
      if (p >= threshold) fp++;
    }
  }
  return { recall: pos === 0 ? NaN : tp / pos, flaggedBenign: neg === 0 ? NaN : fp / neg };
}

const f3 = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(3));

function main(): void {
  const dir = sharedDatasetsDir();
  const rows = [...writtenRows(), ...sharedRows(dir)];
  const train = rows.filter((r) => !inValidation(r.text, VALIDATION_SHARE));
  const validation = rows.filter((r) => inValidation(r.text, VALIDATION_SHARE));
  console.log(`rows: ${rows.length} (${rows.filter((r) => r.source === 'original').length} original, ${rows.filter((r) => r.source === 'shared').length} from ${dir ?? 'no shared data sets'})`);
  console.log(`train ${train.length}, validation ${validation.length}`);

  // 1. Pick the configuration on the validation split: recall where 2% of benign rows are flagged (threshold-free).
  const results = (process.env['TRAIN_ONLY'] === undefined ? CONFIGS : CONFIGS.filter((c) => c.name === process.env['TRAIN_ONLY'])).map((config) => {
    const model = quantize(fit(featurize(train, config.wordGrams), config), config, {});
    const scores = validation.map((r) => scoreText(model, r.text, ruleGroups(r.text)).probability);
    return { config, recallAt2: recallAtFlagged(validation, scores, 0.02), at05: evaluate(model, validation, 0.5) };
  });
  console.log('\nvalidation split');
  console.table(
    results.map((r) => ({
      configuration: r.config.name,
      'recall at 2% benign flagged': f3(r.recallAt2),
      'recall at 0.5': f3(r.at05.recall),
      'benign flagged at 0.5': f3(r.at05.flaggedBenign),
    })),
  );
  // The shipped configuration is fixed, not the split's winner: the rule groups explain verdicts, and on the dev set
  // by an outside author (data/fresh-a.jsonl) they caught more attacks and blocked fewer benign prompts than
  // n-grams alone, which can lead on this split by up to 0.015 recall at 2% flagged (README.md). This split's rows
  // come from the same writers as the training rows, so it flatters what looks like them.
  const best = results.find((r) => r.config.name === SHIPPED_CONFIG) ?? results[0]!;
  console.log(`chosen: ${best.config.name}`);

  // 2. The threshold's trade-off on validation, per language, with the chosen configuration.
  const chosen = quantize(fit(featurize(train, best.config.wordGrams), best.config), best.config, {});
  const langs = [...new Set(validation.map((r) => r.lang))];
  const sweep = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8].map((t) => {
    const all = evaluate(chosen, validation, t);
    const row: Record<string, string | number> = { threshold: t, recall: f3(all.recall), 'benign flagged': f3(all.flaggedBenign) };
    let worst = 0;
    for (const lang of langs) worst = Math.max(worst, evaluate(chosen, validation.filter((r) => r.lang === lang), t).flaggedBenign || 0);
    row['worst language, benign flagged'] = f3(worst);
    return row;
  });
  console.log('\nvalidation split: thresholds');
  console.table(sweep);

  // 3. Refit on every row and write the file.
  const final = quantize(fit(featurize(rows, best.config.wordGrams), best.config), best.config, {
    configuration: best.config.name,
    rows: rows.length,
    sharedDataSets: dir === undefined ? 'absent' : 'prompt-injection.train, prompt-injection.attacks, benign-lookalikes',
    orderSeed: ORDER_SEED,
    epochs: EPOCHS,
  });
  writeFileSync(MODEL_FILE, encodeModel(final));
  const nonZero = final.weights.reduce((n, x) => n + (x === 0 ? 0 : 1), 0);
  console.log(`\nwrote ${MODEL_FILE}: ${BUCKETS} buckets (${nonZero} non-zero), rule weights ${RULE_GROUPS.map((g, i) => `${g}=${final.header.ruleWeights[i]}`).join(' ')}`);
}

/** The share of injections scored above the threshold at which `share` of the benign rows are flagged. */
function recallAtFlagged(rows: readonly CorpusRow[], scores: readonly number[], share: number): number {
  const benign = scores.filter((_, i) => rows[i]!.label === 'benign').sort((a, b) => b - a);
  const threshold = benign[Math.floor(benign.length * share)] ?? 1;
  const attacks = scores.filter((_, i) => rows[i]!.label === 'injection');
  return attacks.filter((s) => s > threshold).length / attacks.length;
}

// Run as a script (`npm run train:guard`); importing it (experiments) only gets the functions.
if (import.meta.main) main();
