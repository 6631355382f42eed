// Figures of a prompt-injection scanner on labelled rows, per language: used by bench/guard.bench.ts and the unit
// tests, on the held-out sets (data/fresh-*.jsonl) that training never reads.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Scanner } from '../types.ts';

/**
 * Written by an author who saw neither the training data nor the scanner; looked at while choosing data, features
 * and the threshold, so it is a dev set.
 */
export const DEV_FILE = fileURLToPath(new URL('./data/fresh-a.jsonl', import.meta.url));
/**
 * By the same outside author, on other topics: scored once as the test set (recall 0.78, 1/120 benign blocked),
 * then its misses guided a second round of training data, so it became a second dev set.
 */
export const DEV2_FILE = fileURLToPath(new URL('./data/fresh-b.jsonl', import.meta.url));
/**
 * By the same outside author, written after fresh-b was spent: scored once as the test set (recall 0.88, 1/120 benign
 * blocked), then its misses named the families of a third round of training data, so it became a third dev set.
 */
export const DEV3_FILE = fileURLToPath(new URL('./data/fresh-c.jsonl', import.meta.url));
/**
 * Written by another outside author from the brief alone, after fresh-c was spent: scored once as the test set
 * (recall 0.93, 1/120 benign blocked, a Korean quoted jailbreak being analysed), then its one block named a fourth
 * round of training data (quoted attacks analysed, and quotes that carry an attack), so it became a fourth dev set.
 */
export const DEV4_FILE = fileURLToPath(new URL('./data/fresh-d.jsonl', import.meta.url));
/**
 * Written by a new outside author from the brief alone, before the fourth round of data, and scored once with
 * the final model and threshold: the honest figure.
 */
export const TEST_FILE = fileURLToPath(new URL('./data/fresh-e.jsonl', import.meta.url));

/** The eight languages of issue 15, in report order. */
export const REPORT_LANGUAGES = ['en', 'zh', 'zh-Hant', 'vi', 'ja', 'ko', 'ru', 'ar'] as const;

/** Every held-out set, for the unit test's targets; bench/guard.bench.ts reports each apart. */
export const HELDOUT_FILES: readonly string[] = [DEV_FILE, DEV2_FILE, DEV3_FILE, DEV4_FILE, TEST_FILE];

export interface LabelledRow {
  readonly text: string;
  readonly label: 'injection' | 'benign';
  readonly lang: string;
  readonly kind: string;
}

export function labelledRows(file: string): LabelledRow[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LabelledRow);
}

export interface LanguageFigures {
  readonly lang: string;
  readonly attacks: number;
  readonly caught: number;
  readonly benign: number;
  readonly blocked: number;
  /** caught / attacks. */
  readonly recall: number;
  /** blocked / benign. */
  readonly blockedShare: number;
}

/** Per language (REPORT_LANGUAGES order, then any other), and `all` last. */
export function figuresByLanguage(scanner: Scanner, rows: readonly LabelledRow[]): LanguageFigures[] {
  const langs = [...REPORT_LANGUAGES.filter((l) => rows.some((r) => r.lang === l)), ...new Set(rows.map((r) => r.lang).filter((l) => !(REPORT_LANGUAGES as readonly string[]).includes(l)))];
  const flagged = rows.map((r) => scanner.scan(r.text).flagged);
  const of = (lang: string, pick: (i: number) => boolean): LanguageFigures => {
    let attacks = 0;
    let caught = 0;
    let benign = 0;
    let blocked = 0;
    rows.forEach((r, i) => {
      if (!pick(i)) return;
      if (r.label === 'injection') {
        attacks++;
        if (flagged[i]) caught++;
      } else {
        benign++;
        if (flagged[i]) blocked++;
      }
    });
    return { lang, attacks, caught, benign, blocked, recall: attacks === 0 ? NaN : caught / attacks, blockedShare: benign === 0 ? NaN : blocked / benign };
  };
  return [...langs.map((lang) => of(lang, (i) => rows[i]!.lang === lang)), of('all', () => true)];
}
