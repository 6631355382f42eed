// prompt_injection: by default a learned classifier (plugins/guard/model/: hashed character and word n-grams plus
// the rule groups below, logistic regression, weights shipped in the repository and read when the first guard is
// configured). The phrase rules run either way: they are the model's features and the explanation of a verdict.
// `engine: rules` uses them alone.
//
// The rules: weighted phrase rules in en, de, zh, vi, ja, ko, ru, ar (and the override phrase in es, fr, it, pt,
// hr, nl) over the normalised text, a letters-only pass for words split by spaces or dots, and fake chat-template
// delimiters over the original text. See lexicons/injection.ts for the rules and their groups. Their own score:
// each group (override, role, jailbreak, leak, …) counts with its strongest match, and groups combine as
// independent evidence: score = 1 − Π(1 − w). One strong cue ("ignore all previous instructions", 0.9) flags by
// itself; a suspicious one ("you are now", 0.6) does too at the default threshold; weak ones ("act as", "now
// write") flag only together.

import { lettersOnly, prepare, toOriginal, TRICK_BASE64, TRICK_HOMOGLYPH, TRICK_INVISIBLE, TRICK_LEET, TRICK_SPACED } from '../normalize.ts';
import { COMPACT_RULES, INJECTION_RULES, MARKUP } from '../lexicons/injection.ts';
import { combine, compileRules, matchRules } from '../rules.ts';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';
import { loadInjectionModel, RULE_GROUPS, scoreText } from '../model/classifier.ts';
import { quotations, type ApostropheRule } from '../quotations.ts';

export type PromptInjectionEngine = 'model' | 'rules';

export interface PromptInjectionOptions {
  /** Flag at this score. Default: the engine's (docs/guards.md has the figures behind each). */
  threshold?: number;
  /** `model` (default): the learned classifier, rules as its features; `rules`: the phrase rules alone. */
  engine?: PromptInjectionEngine;
}

/** The rules engine's default, chosen on the training set and the benign look-alikes (bench/guard.bench.ts). */
export const PROMPT_INJECTION_RULES_THRESHOLD = 0.5;
/**
 * The model's default: the lowest at which the dev sets by an outside author block no benign prompt in any language
 * and no language of the training script's validation split has more than 5% of its benign prompts flagged
 * (plugins/guard/model/README.md has the trade-off). With 15 benign prompts per language, issue 15's "at most 5%"
 * means none.
 */
export const PROMPT_INJECTION_MODEL_THRESHOLD = 0.8;
/** Kept for callers of the rules engine. */
export const PROMPT_INJECTION_DEFAULT_THRESHOLD = PROMPT_INJECTION_RULES_THRESHOLD;

const RULES = compileRules(INJECTION_RULES);
/** The compact rules as one regex, one capture group each. */
const COMPACT = new RegExp(COMPACT_RULES.map((r) => `(${r.re.source})`).join('|'), 'g');

/** What the phrase rules found in a text: the matches (the explanation of a verdict) and their evidence. */
export interface RuleEvidence {
  readonly matches: ScanMatch[];
  /** The rules' own score, 1 − Π(1 − strongest weight per group). */
  readonly score: number;
  /** The strongest weight per group, in RULE_GROUPS order. */
  readonly groups: Float64Array;
  /**
   * The same, counting only matches that are not inside a quotation: the model's dense features. A prompt that
   * quotes an attack to ask about it ("is 'ignore all previous instructions' an injection?") is then judged by what
   * it says around the quote, while the n-grams still see the quoted words.
   */
  readonly groupsOutsideQuotes: Float64Array;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const isLetterOrDigit = (text: string, i: number): boolean => i >= 0 && i < text.length && LETTER_OR_DIGIT.test(text[i]!);

/** On the original text, in any script: an ASCII ' with a letter on both sides is an apostrophe. */
const APOSTROPHE: ApostropheRule = {
  opens: (text, i) => !isLetterOrDigit(text, i - 1) && isLetterOrDigit(text, i + 1),
  closes: (text, j) => !isLetterOrDigit(text, j + 1),
};

/** The closed quotations of `text` (quotations.ts), as [start, end) pairs of their contents. */
export function quotationsOf(text: string): number[] {
  return quotations(text, APOSTROPHE);
}

const inside = (ranges: readonly number[], start: number, end: number): boolean => {
  for (let k = 0; k < ranges.length; k += 2) if (start >= ranges[k]! && end <= ranges[k + 1]!) return true;
  return false;
};

/** Runs every phrase, compact and markup rule over `text`. */
export function ruleEvidence(text: string): RuleEvidence {
  const groups = new Float64Array(RULE_GROUPS.length);
  const groupsOutsideQuotes = new Float64Array(RULE_GROUPS.length);
  if (text.length === 0) return { matches: [], score: 0, groups, groupsOutsideQuotes };
  const n = prepare(text);
  const quoted = quotationsOf(text);
  const matches: ScanMatch[] = [];
  const extra: { group: string; weight: number }[] = [];
  /** `span` in the original text; none for evidence about the whole text (obfuscation). */
  const note = (group: string, weight: number, span?: { start: number; end: number }): void => {
    const g = (RULE_GROUPS as readonly string[]).indexOf(group);
    if (g < 0) return;
    if (weight > groups[g]!) groups[g] = weight;
    if (weight > groupsOutsideQuotes[g]! && (span === undefined || !inside(quoted, span.start, span.end))) groupsOutsideQuotes[g] = weight;
  };

  const hits = matchRules(RULES, n);
  for (const hit of hits) {
    const rule = RULES.rules[hit.rule]!;
    const span = toOriginal(n, hit.start, hit.end);
    matches.push({ rule: rule.id, start: span.start, end: span.end });
    note(RULES.groups[rule.group]!, rule.weight, span);
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
        note(rule.group, rule.weight, span);
      }
    }
  }

  // Fake delimiters: on the original text, where the punctuation is intact.
  if (/[<[#{=*>:\\-]/.test(text)) {
    for (const rule of MARKUP) {
      rule.re.lastIndex = 0;
      const m = rule.re.exec(text);
      if (m === null) continue;
      const span = { start: m.index, end: m.index + m[0].length };
      matches.push({ rule: rule.id, ...span });
      extra.push({ group: 'markup', weight: rule.weight });
      note('markup', rule.weight, span);
    }
  }

  // Obfuscation is evidence of intent, though never enough alone.
  if (n.tricks !== 0) {
    const t = n.tricks;
    const w = t & (TRICK_SPACED | TRICK_HOMOGLYPH | TRICK_INVISIBLE) ? 0.35 : t & TRICK_BASE64 ? 0.25 : t & TRICK_LEET ? 0.2 : 0;
    if (w > 0) {
      extra.push({ group: 'obfuscation', weight: w });
      note('obfuscation', w);
    }
  }

  return { matches, score: combine(RULES, hits, extra), groups, groupsOutsideQuotes };
}

export function createPromptInjectionScanner(options: PromptInjectionOptions = {}): Scanner {
  const engine = options.engine ?? 'model';
  const threshold = options.threshold ?? (engine === 'model' ? PROMPT_INJECTION_MODEL_THRESHOLD : PROMPT_INJECTION_RULES_THRESHOLD);
  if (!(threshold > 0 && threshold <= 1)) throw new Error('prompt_injection: threshold must be in (0, 1]');
  if (engine === 'rules') {
    return {
      name: 'prompt_injection',
      scan(text: string): ScanResult {
        const evidence = ruleEvidence(text);
        return { score: evidence.score, flagged: evidence.score >= threshold, matches: evidence.matches };
      },
    };
  }
  // Read here, not at import: only a configured guard holds the weights.
  const model = loadInjectionModel();
  return {
    name: 'prompt_injection',
    scan(text: string): ScanResult {
      if (text.length === 0) return { score: 0, flagged: false, matches: [] };
      const evidence = ruleEvidence(text);
      const result = scoreText(model, text, model.header.ruleGroupsOutsideQuotes === true ? evidence.groupsOutsideQuotes : evidence.groups);
      const score = result.probability;
      const matches = evidence.matches;
      // No rule fired: the verdict is the model's alone; point at the window that decided it.
      if (matches.length === 0 && score >= threshold) {
        const span = toOriginal(prepare(text), result.windowStart, result.windowEnd);
        matches.push({ rule: 'model', start: span.start, end: span.end });
      }
      return { score, flagged: score >= threshold, matches };
    },
  };
}
