// prompt_injection: a heuristic detector, no model. Weighted phrase rules in en, de, zh, vi, ja, ko, ru, ar (and
// the override phrase in es, fr, it, pt, hr, nl) over the normalised text, a letters-only pass for words split
// by spaces or dots, and fake chat-template delimiters over the original text. See lexicons/injection.ts for the
// rules and their groups.
//
// Score: each group (override, role, jailbreak, leak, …) counts with its strongest match, and groups combine as
// independent evidence: score = 1 − Π(1 − w). One strong cue ("ignore all previous instructions", 0.9) flags by
// itself; a suspicious one ("you are now", 0.6) does too at the default threshold; weak ones ("act as", "now
// write") flag only together.

import { lettersOnly, prepare, toOriginal, TRICK_BASE64, TRICK_HOMOGLYPH, TRICK_INVISIBLE, TRICK_LEET, TRICK_SPACED } from '../normalize.ts';
import { COMPACT_RULES, INJECTION_RULES, MARKUP } from '../lexicons/injection.ts';
import { combine, compileRules, matchRules } from '../rules.ts';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface PromptInjectionOptions {
  /** Flag at this score. Default 0.5, chosen on the training set and the benign look-alikes (bench/guard.bench.ts). */
  threshold?: number;
}

export const PROMPT_INJECTION_DEFAULT_THRESHOLD = 0.5;

const RULES = compileRules(INJECTION_RULES);
/** The compact rules as one regex, one capture group each. */
const COMPACT = new RegExp(COMPACT_RULES.map((r) => `(${r.re.source})`).join('|'), 'g');

export function createPromptInjectionScanner(options: PromptInjectionOptions = {}): Scanner {
  const threshold = options.threshold ?? PROMPT_INJECTION_DEFAULT_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new Error('prompt_injection: threshold must be in (0, 1]');
  return {
    name: 'prompt_injection',
    scan(text: string): ScanResult {
      if (text.length === 0) return { score: 0, flagged: false, matches: [] };
      const n = prepare(text);
      const matches: ScanMatch[] = [];
      const extra: { group: string; weight: number }[] = [];

      const hits = matchRules(RULES, n);
      for (const hit of hits) {
        const span = toOriginal(n, hit.start, hit.end);
        matches.push({ rule: RULES.rules[hit.rule]!.id, start: span.start, end: span.end });
      }

      // Words split by spaces or dots: the letters-only view, all compact rules in one pass.
      const compact = lettersOnly(n);
      if (compact.text.length >= 12) {
        const found = new Set<number>();
        COMPACT.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = COMPACT.exec(compact.text)) !== null) {
          const k = m.slice(1).findIndex((g) => g !== undefined);
          if (k >= 0 && !found.has(k)) {
            found.add(k);
            const rule = COMPACT_RULES[k]!;
            const from = compact.index[m.index]!;
            const to = compact.index[m.index + m[0].length - 1]! + 1;
            const span = toOriginal(n, from, to);
            matches.push({ rule: rule.id, start: span.start, end: span.end });
            extra.push({ group: rule.group, weight: rule.weight });
          }
        }
      }

      // Fake delimiters: on the original text, where the punctuation is intact.
      if (/[<[#{=*>:\\-]/.test(text)) {
        for (const rule of MARKUP) {
          rule.re.lastIndex = 0;
          const m = rule.re.exec(text);
          if (m === null) continue;
          matches.push({ rule: rule.id, start: m.index, end: m.index + m[0].length });
          extra.push({ group: 'markup', weight: rule.weight });
        }
      }

      // Obfuscation is evidence of intent, though never enough alone.
      if (n.tricks !== 0) {
        const t = n.tricks;
        const w = t & (TRICK_SPACED | TRICK_HOMOGLYPH | TRICK_INVISIBLE) ? 0.35 : t & TRICK_BASE64 ? 0.25 : t & TRICK_LEET ? 0.2 : 0;
        if (w > 0) extra.push({ group: 'obfuscation', weight: w });
      }

      const score = combine(RULES, hits, extra);
      return { score, flagged: score >= threshold, matches };
    },
  };
}
