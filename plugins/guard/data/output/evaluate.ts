// Loads the output scanners' evaluation splits (JSON Lines next to this file) and scores a scanner on them.
// Shared by bench/guard-output.bench.ts and the held-out assertions in output-scanners.test.ts.

import { readFileSync } from 'node:fs';
import type { Scanner } from '../../types.ts';

export interface EvalRow {
  readonly text: string;
  readonly label: string;
  readonly lang: string;
  readonly kind: string;
}

export type OutputSet = 'urls' | 'code' | 'refusals';
export type Split = 'dev' | 'test' | 'fresh' | 'fresh2' | 'fresh3';

/**
 * What the held-out (test) split must reach, from issue 15: accuracy per scanner, and no refusal language far
 * behind the rest. The bench reports against these; the unit tests assert them.
 */
export const TARGETS = { accuracy: 0.9, refusalLanguageAccuracy: 0.8 } as const;

/** The label that counts as positive in each set. */
export const POSITIVE: Readonly<Record<OutputSet, string>> = { urls: 'malicious', code: 'code', refusals: 'refusal' };

export function loadSplit(set: OutputSet, split: Split): EvalRow[] {
  const text = readFileSync(new URL(`./${set}.${split}.jsonl`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const row = JSON.parse(line) as Partial<EvalRow>;
      if (typeof row.text !== 'string' || typeof row.label !== 'string' || typeof row.lang !== 'string' || typeof row.kind !== 'string') {
        throw new Error(`${set}.${split}.jsonl line ${i + 1}: text, label, lang and kind must be strings`);
      }
      return row as EvalRow;
    });
}

export interface Figures {
  readonly rows: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
  readonly accuracy: number;
  readonly recall: number;
  /** Share of negatives flagged. */
  readonly fpr: number;
  /** The rows the scanner got wrong. */
  readonly misses: readonly EvalRow[];
}

export function figures(rows: readonly EvalRow[], positive: string, scanner: Scanner): Figures {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  const misses: EvalRow[] = [];
  for (const row of rows) {
    const flagged = scanner.scan(row.text).flagged;
    const pos = row.label === positive;
    if (pos && flagged) tp++;
    else if (pos) fn++;
    else if (flagged) fp++;
    else tn++;
    if (pos !== flagged) misses.push(row);
  }
  const n = rows.length;
  return { rows: n, tp, fp, fn, tn, accuracy: n === 0 ? 0 : (tp + tn) / n, recall: tp + fn === 0 ? 0 : tp / (tp + fn), fpr: fp + tn === 0 ? 0 : fp / (fp + tn), misses };
}

/** Figures per language (rows grouped by `lang`, in first-seen order). */
export function figuresByLang(rows: readonly EvalRow[], positive: string, scanner: Scanner): Map<string, Figures> {
  const groups = new Map<string, EvalRow[]>();
  for (const row of rows) {
    const list = groups.get(row.lang) ?? [];
    list.push(row);
    groups.set(row.lang, list);
  }
  const out = new Map<string, Figures>();
  for (const [lang, list] of groups) out.set(lang, figures(list, positive, scanner));
  return out;
}
