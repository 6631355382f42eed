// Small helpers for writing phrase rules readably.

import type { PhraseRule } from '../rules.ts';

/** `(?:a|b|c)` */
export function alt(...xs: readonly string[]): string {
  return `(?:${xs.join('|')})`;
}

/** Ends a word: the next character is not a letter or digit. */
export const E = '(?![\\p{L}\\p{N}])';

/** Up to `n` words of the given alternation, each followed by a space (filler between a verb and its object). */
export function some(words: string, n: number): string {
  return `(?:${words} ){0,${n}}`;
}

/** The regex source that matches `s` literally. */
export function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The anchor of a literal start: its first word, or the whole literal in a script written without spaces. */
function anchorOf(start: string): string {
  const first = start.codePointAt(0) ?? 0;
  const wordless = (first >= 0x3040 && first <= 0x9fff) || (first >= 0xac00 && first <= 0xd7a3) || (first >= 0xf900 && first <= 0xfaff) || (first >= 0x1100 && first <= 0x11ff);
  if (wordless) return start;
  const m = /^[\p{L}\p{N}]+/u.exec(start);
  if (m === null) throw new Error(`rule start "${start}" does not begin with a word`);
  return m[0];
}

/**
 * A rule whose matches begin with one of the literal `starts` (plain text, no regex syntax) and go on with the
 * regex `rest`. Anchors are the starts' first words.
 */
export function rule(id: string, group: string, weight: number, starts: readonly string[], rest: string, before = ''): PhraseRule {
  const sorted = [...starts].sort((a, b) => b.length - a.length);
  return {
    id,
    group,
    weight,
    anchors: [...new Set(starts.map(anchorOf))],
    pattern: before + alt(...sorted.map(escape)) + rest,
  };
}

/** Pass as `before`: the match must open a sentence (or the text, or follow a quote, dash or bracket). */
export const SOL = '(?<=^|[.!?:;()\\[\\]"\'\\-–*] ?)';

/** Splits a space-separated word list. */
export function list(s: string): string[] {
  return s
    .split(/\s*\|\s*|\n/)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
