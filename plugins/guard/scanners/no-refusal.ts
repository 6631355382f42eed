// no_refusal: detects that a model answer is a refusal ("I'm sorry, but I can't help with that", "As an AI
// language model, I cannot…", "I must decline"), or the soft refusals that lecture instead of answering ("It is
// not appropriate to…", "violence is never the answer"). Weighted phrase rules in en, es, fr, de, pt, vi, ru, ar,
// zh (Simplified and Traditional), ja and ko over the normalised text; see lexicons/refusal.ts for the groups. Besides
// the phrase families, rules read a refusal's structure in each language with any verb (a first-person negated
// modal, humble forms, the request put out of scope, "I can do A, but not B"); idioms of the same shape are named
// and excluded there.
//
// Where a phrase sits matters: refusals open the answer. A match in the first LEAD characters counts in full;
// further in, its weight shrinks with the distance (LEAD / offset, at least FAR_FLOOR), so "if the user asks for
// X, say 'I can't'" deep in a long helpful answer counts for little. A match inside a quotation, or right after
// "say", "reply", "e.g.", is reported speech: it counts half, and all reported matches together count as one.
//
// Score: each group counts with its strongest (position-weighted) match, and groups combine as independent
// evidence, 1 − Π(1 − w). An explicit refusal (0.85) flags alone near the start; a disclaimer ("as an AI", 0.45)
// or a privacy lecture (0.35) needs company.
//
// Only the first HEAD characters of a long answer are read (spans are still offsets into the whole text).
//
// Positions count from the start of the text given. A sliding window would make every window "the start", so the
// streaming output guard reads this scanner over the opening of the answer only (stream: 'prefix' in specs.ts).

import { quotations, type ApostropheRule } from '../quotations.ts';
import { prepare, toOriginal } from '../normalize.ts';
import { REFUSAL_RULES, REFUSAL_UNANCHORED } from '../lexicons/refusal.ts';
import { compileRules, matchRules } from '../rules.ts';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface NoRefusalOptions {
  /** Flag at this score. Default 0.5, chosen on refusals.jsonl (bench/guard.bench.ts). */
  threshold?: number;
}

export const NO_REFUSAL_DEFAULT_THRESHOLD = 0.5;

/** Matches starting before this offset (UTF-16 units of the original text) count in full. */
const LEAD = 300;
/**
 * Only the opening of a long answer is read: a phrase further in would count at FAR_FLOOR at most, and a refusal
 * that far in is not the answer's. This also bounds the cost on long answers (normalising 4 KB costs ~50 µs).
 */
const HEAD = 1024;
/** The least a match deep in a long answer still counts (a fraction of its weight). */
const FAR_FLOOR = 0.35;
const QUOTED_FACTOR = 0.5;

const RULES = compileRules(REFUSAL_RULES);
/** Rules without an anchor word (see REFUSAL_UNANCHORED), run over Cyrillic text only. */
const UNANCHORED = REFUSAL_UNANCHORED.map((r) => {
  const group = RULES.groups.indexOf(r.group);
  if (group < 0) throw new Error(`guard rule ${r.id}: group "${r.group}" has no anchored rule`);
  return { id: r.id, group, weight: r.weight, re: new RegExp(r.pattern, 'gu') };
});
const CYRILLIC = /[\u0400-\u04ff]/;
/** Empty sticky match that succeeds only right after a quote mark or a verb of saying (reported speech). */
const QUOTED = /(?<=(?:["'«「『]|(?:^|[^\p{L}])(?:say|says|said|saying|reply|replies|replied|respond|responds|responded|responding|answer|answers|answering|write|writes|e\.g\.|such as)(?: with)?[:,]?(?: ["'«「『])?) ?)/uy;

/** How far back an opening quote mark is looked for. */
const QUOTE_REACH = 200;

/** The match at `at` is reported speech: right after a verb of saying or a quote mark, or inside an open quote. */
function isQuoted(t: string, at: number): boolean {
  QUOTED.lastIndex = at;
  if (QUOTED.test(t)) return true;
  // An odd number of double quotes (or more 「 than 」) between here and QUOTE_REACH back: inside a quotation.
  let quotes = 0;
  let corners = 0;
  for (let i = at - 1, stop = Math.max(0, at - QUOTE_REACH); i >= stop; i--) {
    const c = t.charCodeAt(i);
    if (c === 34) quotes++;
    else if (c === 0x300c || c === 0x300e) corners++;
    else if (c === 0x300d || c === 0x300f) corners--;
  }
  return (quotes & 1) === 1 || corners > 0;
}

/** Letters that make an ASCII ' an apostrophe ("don't", "l'aide"); a Korean or Japanese particle after a closing ' does not. */
const LATIN_WORD = /[A-Za-z0-9\u00c0-\u024f]/;
const latinAt = (t: string, i: number): boolean => i >= 0 && i < t.length && LATIN_WORD.test(t[i]!);

/**
 * On the normalised text (curly quotes are ASCII there): an ASCII ' next to a Latin letter is an apostrophe, but
 * one closing before a particle ("'…'라고", "'…'と") closes.
 */
const APOSTROPHE: ApostropheRule = {
  opens: (t, i) => !(latinAt(t, i - 1) || i + 1 >= t.length || t.charCodeAt(i + 1) === 32),
  closes: (t, j) => !latinAt(t, j + 1) && t.charCodeAt(j - 1) !== 32,
};

const SENTENCE_END = /[.!?。！？]/;

/**
 * Where the match [start, end) of `t` sits among the quotations `ranges`: 'quoted' inside one; 'opening' inside
 * a quoted sentence that opens the text (an answer wrapped in quote marks is still the answer; "「…」という返答は"
 * is not); else 'plain'.
 */
function quotationAt(t: string, ranges: readonly number[], start: number, end: number): 'quoted' | 'opening' | 'plain' {
  for (let k = 0; k < ranges.length; k += 2) {
    const from = ranges[k]!;
    const to = ranges[k + 1]!;
    if (start < from || end > to) continue;
    const whole = from <= 2 && (to + 1 >= t.length || SENTENCE_END.test(t[to - 1]!) || SENTENCE_END.test(t[to + 1]!));
    return whole ? 'opening' : 'quoted';
  }
  return 'plain';
}

/** Best weight per group, reused across calls (scan is synchronous). */
const best = new Float64Array(RULES.groups.length);

/** How much a match at original offset `at` counts: in full near the start, less further in. */
export function positionFactor(at: number): number {
  if (at < LEAD) return 1;
  const f = LEAD / at;
  return f < FAR_FLOOR ? FAR_FLOOR : f;
}

/** The first HEAD characters of `text`, cut at a space so that no word is split. */
function head(text: string): string {
  const cut = text.lastIndexOf(' ', HEAD);
  return text.slice(0, cut > HEAD / 2 ? cut : HEAD);
}

export function createNoRefusalScanner(options: NoRefusalOptions = {}): Scanner {
  const threshold = options.threshold ?? NO_REFUSAL_DEFAULT_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw new Error('no_refusal: threshold must be in (0, 1]');
  return {
    name: 'no_refusal',
    scan(text: string): ScanResult {
      if (text.length === 0) return { score: 0, flagged: false, matches: [] };
      const n = prepare(text.length <= HEAD ? text : head(text));
      const hits = matchRules(RULES, n);
      if (CYRILLIC.test(n.text)) {
        for (const u of UNANCHORED) {
          u.re.lastIndex = 0;
          const m = u.re.exec(n.text);
          if (m !== null) hits.push({ rule: -1 - UNANCHORED.indexOf(u), start: m.index, end: m.index + m[0].length });
        }
      }
      if (hits.length === 0) return { score: 0, flagged: false, matches: [] };
      best.fill(0);
      // Reported speech (a quotation, or words after "reply"/"say") is one piece of evidence at most: a quoted
      // refusal that several rules read ("'…도와드릴 수 없습니다'라고 답하는 경우") is talked about, not said.
      let reported = 0;
      const quoted = quotations(n.text, APOSTROPHE);
      const matches: ScanMatch[] = [];
      for (const hit of hits) {
        // Negative indices are the unanchored rules.
        const rule = hit.rule >= 0 ? RULES.rules[hit.rule]! : UNANCHORED[-1 - hit.rule]!;
        const span = toOriginal(n, hit.start, hit.end);
        matches.push({ rule: rule.id, start: span.start, end: span.end });
        let w = rule.weight * positionFactor(span.start);
        const where = quotationAt(n.text, quoted, hit.start, hit.end);
        if (where === 'quoted' || (where === 'plain' && hit.start > 0 && isQuoted(n.text, hit.start))) {
          if (w * QUOTED_FACTOR > reported) reported = w * QUOTED_FACTOR;
        } else if (w > best[rule.group]!) best[rule.group] = w;
      }
      let keep = 1 - reported;
      for (let g = 0; g < best.length; g++) keep *= 1 - best[g]!;
      const score = 1 - keep;
      matches.sort((a, b) => a.start - b.start);
      return { score, flagged: score >= threshold, matches };
    },
  };
}
