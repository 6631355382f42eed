// Phrase rules: weighted regular expressions over the normalised text, tried only where one of their anchor
// words occurs. This is what keeps a hundred rules cheap: the text is split into words once (normalize.ts
// `words`), each word is looked up in a map, and a rule's regex runs, sticky, only at the words that can start it.
// Anchors in Han, kana or Hangul (scripts without spaces) are found by one combined regex instead.

import { isWordlessScript, prepare, wordHash, words, type Normalized, SCRIPT_HAN, SCRIPT_HANGUL, SCRIPT_KANA } from './normalize.ts';

export interface PhraseRule {
  /** Reported in `ScanMatch.rule`, e.g. `override.en`. */
  id: string;
  /** Rules of one group count once: the strongest match of the group is its score. */
  group: string;
  /** 0..1. */
  weight: number;
  /** Words (or, in Han/kana/Hangul, literals) a match starts with, in normalised form. */
  anchors: readonly string[];
  /** Regex source, matched at an anchor on the normalised text (flags `yu`). */
  pattern: string;
}

interface Compiled {
  id: string;
  group: number;
  weight: number;
  re: RegExp;
}

export interface RuleSet {
  readonly rules: readonly Compiled[];
  readonly groups: readonly string[];
  /** Anchor words by hash (collisions share the list; the word is checked). */
  readonly byWord: ReadonlyMap<number, readonly { word: string; rules: number[] }[]>;
  readonly byLiteral: ReadonlyMap<string, readonly number[]>;
  /** One byte per hash slot: 1 when some anchor word may hash there (a fast "no" for most words). */
  readonly filter: Uint8Array;
  /** The wordless-script literals (Han, kana, Hangul anchors), found without word boundaries. */
  readonly literals: LiteralTable;
}

export interface RuleHit {
  rule: number;
  /** Span in the normalised text. */
  start: number;
  end: number;
}

/**
 * Literals looked up by their first UTF-16 unit, longest first: in Han, kana and Hangul, which have no spaces, terms
 * are found anywhere in the text. A byte per first unit rules out most positions without a lookup; it replaced a
 * several-hundred-way regex alternation, which tried every alternative at every position.
 */
export interface LiteralTable {
  readonly size: number;
  readonly byFirst: ReadonlyMap<number, readonly string[]>;
  readonly first: Uint8Array;
}

export function literalTable(literals: Iterable<string>): LiteralTable {
  const byFirst = new Map<number, string[]>();
  const first = new Uint8Array(1 << 16);
  const sorted = [...literals].filter((l) => l.length > 0).sort((a, b) => b.length - a.length);
  for (const literal of sorted) {
    const c = literal.charCodeAt(0);
    first[c] = 1;
    const list = byFirst.get(c);
    if (list === undefined) byFirst.set(c, [literal]);
    else list.push(literal);
  }
  return { size: sorted.length, byFirst, first };
}

/** The longest literal of `table` that starts at `at` in `text`, as an alternation listing the longest first would find. */
export function longestLiteralAt(table: LiteralTable, text: string, at: number): string | undefined {
  const c = text.charCodeAt(at);
  if (table.first[c] !== 1) return undefined;
  const list = table.byFirst.get(c)!;
  for (let j = 0; j < list.length; j++) if (text.startsWith(list[j]!, at)) return list[j];
  return undefined;
}

/** Compiles rules once (at load). Throws on an anchor that is not a single normalised word. */
export function compileRules(rules: readonly PhraseRule[]): RuleSet {
  const groups: string[] = [];
  const compiled: Compiled[] = [];
  const byWord = new Map<number, { word: string; rules: number[] }[]>();
  const filter = new Uint8Array(1 << 16);
  const byLiteral = new Map<string, number[]>();
  rules.forEach((rule, index) => {
    let group = groups.indexOf(rule.group);
    if (group < 0) group = groups.push(rule.group) - 1;
    let re: RegExp;
    try {
      re = new RegExp(rule.pattern, 'yu');
    } catch (err) {
      throw new Error(`guard rule ${rule.id}: ${(err as Error).message}`);
    }
    compiled.push({ id: rule.id, group, weight: rule.weight, re });
    for (const anchor of rule.anchors) {
      const wordless = anchor.length > 0 && isWordlessScript(anchor.charCodeAt(0));
      const key = wordless ? anchor : prepare(anchor).text;
      if (!wordless && (key.length === 0 || !/^[\p{L}\p{N}]+$/u.test(key))) {
        throw new Error(`guard rule ${rule.id}: anchor "${anchor}" is not one word once normalised ("${key}")`);
      }
      if (wordless) {
        const list = byLiteral.get(key);
        if (list === undefined) byLiteral.set(key, [index]);
        else if (!list.includes(index)) list.push(index);
      } else {
        const h = wordHash(key);
        filter[(h ^ (h >>> 16)) & 0xffff] = 1;
        let entries = byWord.get(h);
        if (entries === undefined) byWord.set(h, (entries = []));
        let entry = entries.find((e) => e.word === key);
        if (entry === undefined) entries.push((entry = { word: key, rules: [] }));
        if (!entry.rules.includes(index)) entry.rules.push(index);
      }
    }
  });
  return { rules: compiled, groups, byWord, byLiteral, filter, literals: literalTable(byLiteral.keys()) };
}

/** Every rule that matches `n`, each once (its first match), in the order found. */
export function matchRules(set: RuleSet, n: Normalized): RuleHit[] {
  const hits: RuleHit[] = [];
  const done = new Uint8Array(set.rules.length);
  const text = n.text;
  const tryAt = (candidates: readonly number[], at: number): void => {
    for (const index of candidates) {
      if (done[index] === 1) continue;
      const rule = set.rules[index]!;
      rule.re.lastIndex = at;
      const m = rule.re.exec(text);
      if (m !== null) {
        done[index] = 1;
        hits.push({ rule: index, start: at, end: at + m[0].length });
      }
    }
  };
  const w = words(n);
  const filter = set.filter;
  for (let k = 0; k < w.count; k++) {
    const h = w.hashes[k]!;
    if (filter[(h ^ (h >>> 16)) & 0xffff] !== 1) continue;
    const entries = set.byWord.get(h);
    if (entries === undefined) continue;
    const start = w.starts[k]!;
    const length = w.ends[k]! - start;
    for (const e of entries) if (e.word.length === length && text.startsWith(e.word, start)) tryAt(e.rules, start);
  }
  if (set.literals.size > 0 && (n.scripts & (SCRIPT_HAN | SCRIPT_KANA | SCRIPT_HANGUL)) !== 0) {
    // At each position the longest literal found there (overlapping ones too: a rule may start inside another's).
    for (let i = 0; i < text.length; i++) {
      const literal = longestLiteralAt(set.literals, text, i);
      if (literal !== undefined) tryAt(set.byLiteral.get(literal)!, i);
    }
  }
  return hits;
}

/**
 * Combines rule weights into a score: within a group the strongest counts, and groups combine as independent
 * evidence (1 − Π(1 − wᵢ)).
 */
export function combine(set: RuleSet, hits: readonly RuleHit[], extra: readonly { group: string; weight: number }[] = []): number {
  const best = new Float64Array(set.groups.length + extra.length);
  for (const hit of hits) {
    const rule = set.rules[hit.rule]!;
    if (rule.weight > best[rule.group]!) best[rule.group] = rule.weight;
  }
  for (const e of extra) {
    const g = set.groups.indexOf(e.group);
    const slot = g >= 0 ? g : set.groups.length + extra.indexOf(e);
    if (e.weight > best[slot]!) best[slot] = e.weight;
  }
  let keep = 1;
  for (const w of best) keep *= 1 - w;
  return 1 - keep;
}
