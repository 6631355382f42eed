// ban_substrings: flags text containing any of a list of strings. Both the text and the list are normalised the
// same way (normalize.ts), so "Ｐｒｏｊｅｃｔ  Ｘ", "pr0ject-x" or "p r o j e c t x" still match "project x". Spans are
// reported in the original text, for redaction.
//
//   match: 'substring' (default) anywhere; 'word' only at word boundaries ("cat" is not found in "concatenate").
//          In Han, kana and Hangul, which have no spaces, a pattern edge in those scripts needs no boundary.
//   case_sensitive: false (default). When true, a hit must also have the pattern's letter case in the original.
//
// A pattern of several words is also looked for with its spaces and punctuation taken out, in the letters-only
// view of the text, so that "pr0ject-x" and "p r o j e c t x" match "project x".

import { isWordChar, isWordlessScript, lettersOnly, prepare, toOriginal } from '../normalize.ts';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface BanSubstringsOptions {
  substrings: readonly string[];
  match?: 'word' | 'substring';
  case_sensitive?: boolean;
  /** A hit scores 1. Default 0.5. */
  threshold?: number;
}

interface Pattern {
  /** As given (for the rule name and the case check). */
  raw: string;
  /** Normalised. */
  norm: string;
  /** Whether each edge needs a word boundary in 'word' mode. */
  boundaryStart: boolean;
  boundaryEnd: boolean;
  /** The letters and digits of `norm`, when that differs from `norm` and has at least four characters. */
  compact: string | undefined;
}

/** Above this many patterns, one combined regex beats an indexOf per pattern. */
const COMBINE_ABOVE = 24;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The letters and digits of a string, NFKC. */
function lettersOf(s: string): string {
  return s.normalize('NFKC').replace(/[^\p{L}\p{N}]/gu, '');
}

/** The original span has the pattern's letter case (letters compared one by one when obfuscation changed them). */
function caseMatches(originalSpan: string, raw: string): boolean {
  const a = lettersOf(originalSpan);
  const b = lettersOf(raw);
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const ca = a[i]!;
    const cb = b[i]!;
    const upperA = ca !== ca.toLowerCase();
    const upperB = cb !== cb.toLowerCase();
    const lowerA = ca !== ca.toUpperCase();
    const lowerB = cb !== cb.toUpperCase();
    if (upperA !== upperB || lowerA !== lowerB) return false;
  }
  return true;
}

export function createBanSubstringsScanner(options: BanSubstringsOptions): Scanner {
  const wordMode = (options.match ?? 'substring') === 'word';
  const caseSensitive = options.case_sensitive ?? false;
  const threshold = options.threshold ?? 0.5;
  if (!(threshold > 0 && threshold <= 1)) throw new Error('ban_substrings: threshold must be in (0, 1]');
  const patterns: Pattern[] = [];
  for (const raw of options.substrings) {
    const norm = prepare(raw).text;
    if (norm.length === 0) continue;
    const compact = lettersOnly(prepare(raw)).text;
    patterns.push({
      raw,
      norm,
      boundaryStart: !isWordlessScript(norm.charCodeAt(0)),
      boundaryEnd: !isWordlessScript(norm.charCodeAt(norm.length - 1)),
      compact: compact !== norm && compact.length >= 4 ? compact : undefined,
    });
  }
  const byNorm = new Map<string, Pattern[]>();
  for (const p of patterns) {
    const list = byNorm.get(p.norm);
    if (list === undefined) byNorm.set(p.norm, [p]);
    else list.push(p);
  }
  const combined =
    patterns.length > COMBINE_ABOVE
      ? new RegExp(
          [...byNorm.keys()]
            .sort((a, b) => b.length - a.length)
            .map(escapeRegex)
            .join('|'),
          'g',
        )
      : null;

  const withCompact = patterns.filter((p) => p.compact !== undefined);

  return {
    name: 'ban_substrings',
    scan(text: string): ScanResult {
      const matches: ScanMatch[] = [];
      if (text.length === 0 || patterns.length === 0) return { score: 0, flagged: false, matches };
      const n = prepare(text);
      const t = n.text;

      const consider = (list: readonly Pattern[], at: number, length = -1): void => {
        for (const p of list) {
          const end = at + (length >= 0 ? length : p.norm.length);
          if (wordMode) {
            if (p.boundaryStart && at > 0 && isWordChar(t.charCodeAt(at - 1))) continue;
            if (p.boundaryEnd && end < t.length && isWordChar(t.charCodeAt(end))) continue;
          }
          const span = toOriginal(n, at, end);
          if (caseSensitive && !caseMatches(text.slice(span.start, span.end), p.raw)) continue;
          matches.push({ rule: p.raw, start: span.start, end: span.end });
          return;
        }
      };

      if (combined !== null) {
        combined.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = combined.exec(t)) !== null) {
          // Every pattern that matches here, longest first; then move on by one to find overlapping ones.
          for (const [norm, list] of byNorm) if (t.startsWith(norm, m.index)) consider(list, m.index);
          combined.lastIndex = m.index + 1;
        }
      } else {
        for (const [norm, list] of byNorm) {
          let at = t.indexOf(norm);
          while (at >= 0) {
            consider(list, at);
            at = t.indexOf(norm, at + 1);
          }
        }
      }
      // Multi-word patterns with their spaces taken out, in the letters-only view.
      if (withCompact.length > 0) {
        const view = lettersOnly(n);
        for (const p of withCompact) {
          let at = view.text.indexOf(p.compact!);
          while (at >= 0) {
            const from = view.index[at]!;
            const to = view.index[at + p.compact!.length - 1]! + 1;
            const span = toOriginal(n, from, to);
            if (!matches.some((m) => m.start < span.end && span.start < m.end)) consider([p], from, to - from);
            at = view.text.indexOf(p.compact!, at + 1);
          }
        }
      }
      matches.sort((a, b) => a.start - b.start);
      const score = matches.length > 0 ? 1 : 0;
      return { score, flagged: score >= threshold, matches };
    },
  };
}
