// toxicity: lexicon-based, no model. Severity-weighted terms in en, vi, zh, ja, ko, ru, ar (lexicons/toxicity.ts),
// threat and hate phrases aimed at someone, masked spellings ("f*ck"), and a boost when an insult is addressed to
// someone ("you idiot"). Matching runs on the normalised text, so leetspeak, homoglyphs, spacing and invisible
// characters do not hide a word.
//
// Score: distinct terms combine as independent evidence, 1 − Π(1 − wᵢ). One slur or threat flags; one mild
// word ("stupid", "damn") does not; profanity aimed at someone does.

import { isWordlessScript, prepare, toOriginal, wordHash, words, type Normalized, type Words, SCRIPT_HAN, SCRIPT_HANGUL, SCRIPT_KANA, SCRIPT_VIETNAMESE } from '../normalize.ts';
import { ADDRESS_WORDS, MASKABLE, THREAT_PATTERNS, TOXICITY_LEXICON, type ToxicCategory } from '../lexicons/toxicity.ts';
import { compileRules, literalTable, longestLiteralAt, matchRules } from '../rules.ts';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface ToxicityOptions {
  /** Flag at this score. Default 0.4, chosen on the even rows of the toxicity sets (bench/guard.bench.ts). */
  threshold?: number;
  /** Only these categories count. Default: all of profanity, insult, slur, threat, sexual. */
  categories?: readonly ToxicCategory[];
}

export const TOXICITY_DEFAULT_THRESHOLD = 0.4;

interface Term {
  id: number;
  rule: string;
  weight: number;
  category: ToxicCategory;
  viOnly: boolean;
}

interface Phrase {
  term: Term;
  /** The words after the first one. */
  rest: readonly string[];
  /** The last word is a stem. */
  lastIsPrefix: boolean;
}

interface Literal {
  term: Term;
  exceptions: readonly string[];
}

const terms: Term[] = [];
/** Whole words by hash; collisions share a list and are told apart by the word. */
const exact = new Map<number, { word: string; term: Term }[]>();
const prefixes = new Map<number, { stem: string; term: Term }[]>();
const phrases = new Map<number, { first: string; phrase: Phrase }[]>();
const infixes: { stem: string; term: Term }[] = [];
const literals = new Map<string, Literal>();

function key2(word: string, at = 0): number {
  return word.charCodeAt(at) * 0x10000 + word.charCodeAt(at + 1);
}

/**
 * A one-bit-per-slot filter in front of the maps: most words of a text are in no lexicon, and a typed-array read
 * turns them away faster than a Map look-up.
 */
const FILTER_BITS = 1 << 16;
function slot(h: number): number {
  return (h ^ (h >>> 16)) & (FILTER_BITS - 1);
}
const wordFilter = new Uint8Array(FILTER_BITS);
const prefixFilter = new Uint8Array(FILTER_BITS);

/** A set of words looked up by span, without slicing the text. */
function wordSet(list: Iterable<string>): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const w of list) {
    const h = wordHash(w);
    const l = map.get(h);
    if (l === undefined) map.set(h, [w]);
    else l.push(w);
  }
  return map;
}

function inSet(set: Map<number, string[]>, text: string, w: Words, k: number): boolean {
  const list = set.get(w.hashes[k]!);
  if (list === undefined) return false;
  const start = w.starts[k]!;
  const length = w.ends[k]! - start;
  return list.some((word) => word.length === length && text.startsWith(word, start));
}

function addTerm(raw: string, lang: string, category: ToxicCategory): void {
  const [body = '', weightPart = ''] = raw.split('=');
  const [weightText = '', exceptText] = weightPart.split('~');
  const weight = Number(weightText);
  if (!(weight > 0 && weight <= 1)) throw new Error(`toxicity lexicon: bad weight in "${raw}"`);
  let s = body.trim();
  const viOnly = s.startsWith('!');
  if (viOnly) s = s.slice(1);
  const infix = s.startsWith('*') && s.endsWith('*');
  if (infix) s = s.slice(1, -1);
  const prefix = !infix && s.endsWith('*');
  if (prefix) s = s.slice(0, -1);
  const term: Term = { id: terms.length, rule: `${category}.${lang}`, weight, category, viOnly };
  terms.push(term);

  if (isWordlessScript(s.codePointAt(0) ?? 0) || /^[\u3131-\u318e]/.test(s)) {
    const lit = prepare(s).text;
    const exceptions = (exceptText ?? '').split(',').filter((e) => e.length > 0).map((e) => prepare(e).text);
    literals.set(lit, { term, exceptions });
    return;
  }
  const normalized = prepare(s);
  const ws = words(normalized);
  const parts: string[] = [];
  for (let k = 0; k < ws.count; k++) parts.push(normalized.text.slice(ws.starts[k]!, ws.ends[k]!));
  if (parts.length === 0) throw new Error(`toxicity lexicon: "${raw}" has no word`);
  if (infix) {
    infixes.push({ stem: parts.join(''), term });
  } else if (parts.length === 1 && prefix) {
    const stem = parts[0]!;
    if (stem.length < 2) throw new Error(`toxicity lexicon: stem "${stem}" too short`);
    const k = key2(stem);
    prefixFilter[slot(k)] = 1;
    const list = prefixes.get(k);
    if (list === undefined) prefixes.set(k, [{ stem, term }]);
    else list.push({ stem, term });
  } else if (parts.length === 1) {
    const word = parts[0]!;
    const h = wordHash(word);
    wordFilter[slot(h)] = 1;
    const list = exact.get(h) ?? [];
    exact.set(h, list);
    const prev = list.find((e) => e.word === word);
    if (prev === undefined) list.push({ word, term });
    else if (prev.term.weight < weight) prev.term = term;
  } else {
    const first = parts[0]!;
    const h = wordHash(first);
    wordFilter[slot(h)] = 1;
    const list = phrases.get(h) ?? [];
    phrases.set(h, list);
    list.push({ first, phrase: { term, rest: parts.slice(1), lastIsPrefix: prefix } });
  }
}

for (const block of TOXICITY_LEXICON) {
  for (const entry of block.entries.split(' | ')) {
    if (entry.trim().length > 0) addTerm(entry, block.lang, block.category);
  }
}

/** The Han, kana and Hangul terms, found anywhere in the text. */
const literalTerms = literalTable(literals.keys());
const THREATS = compileRules(THREAT_PATTERNS);
const MASK_CHARS = /[*#@!&%$]/g;
const maskable = MASKABLE.map((m) => ({ ...m, term: { id: -1, rule: `${m.category}.masked`, weight: m.weight, category: m.category, viOnly: false } as Term }));

/** Unaccented Vietnamese: words common in it and rare in English. */
const VI_MARKERS = wordSet(['ko', 'khong', 'duoc', 'dc', 'nguoi', 'cua', 'nhung', 'vay', 'nhe', 'roi', 'thi', 'cai', 'thang', 'tao', 'oi', 'mk', 'mn', 'bn', 'ak', 'nha', 'lam', 'gi', 'nay', 'voi', 'minh', 'ban', 'chu', 'bao', 'nhieu', 'trong', 'nhu', 'dep', 'qua', 'hay', 'biet', 'cho', 'vao', 'tot', 'rat', 'cung', 'toi', 'anh', 'chi', 'ong', 'di', 've', 'ma', 'nao', 'sao', 'thay', 'dau']);
const ADDRESS = wordSet(ADDRESS_WORDS);

function vietnameseContext(n: Normalized, w: Words): boolean {
  if ((n.scripts & SCRIPT_VIETNAMESE) !== 0) return true;
  let seen = 0;
  for (let k = 0; k < w.count && k < 400; k++) {
    if (inSet(VI_MARKERS, n.text, w, k)) {
      seen++;
      if (seen >= 2) return true;
    }
  }
  return false;
}

export function createToxicityScanner(options: ToxicityOptions = {}): Scanner {
  const threshold = options.threshold ?? TOXICITY_DEFAULT_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new Error('toxicity: threshold must be in (0, 1]');
  const allowed = new Set<ToxicCategory>(options.categories ?? ['profanity', 'insult', 'slur', 'threat', 'sexual']);

  return {
    name: 'toxicity',
    scan(text: string): ScanResult {
      if (text.length === 0) return { score: 0, flagged: false, matches: [] };
      const n = prepare(text);
      const w = words(n);
      const t = n.text;
      const matches: ScanMatch[] = [];
      const seen = new Set<number>();
      let keep = 1;
      let directed = false;
      let viContext: boolean | undefined;

      const hit = (term: Term, from: number, to: number, wordIndex: number): void => {
        if (!allowed.has(term.category)) return;
        if (term.viOnly && !(viContext ??= vietnameseContext(n, w))) return;
        const span = toOriginal(n, from, to);
        matches.push({ rule: term.rule, start: span.start, end: span.end });
        if (term.id >= 0) {
          if (seen.has(term.id)) return;
          seen.add(term.id);
        }
        keep *= 1 - term.weight;
        if (!directed && wordIndex >= 0 && term.category !== 'threat' && term.weight >= 0.3) {
          for (let k = wordIndex - 1; k >= 0 && k >= wordIndex - 3; k--) {
            if (inSet(ADDRESS, t, w, k)) {
              directed = true;
              break;
            }
          }
        }
      };

      // Words, phrases, stems.
      for (let k = 0; k < w.count; k++) {
        const start = w.starts[k]!;
        const end = w.ends[k]!;
        const length = end - start;
        const h = w.hashes[k]!;
        const inWords = wordFilter[slot(h)] === 1;
        const singles = inWords ? exact.get(h) : undefined;
        if (singles !== undefined) {
          for (const e of singles) if (e.word.length === length && t.startsWith(e.word, start)) hit(e.term, start, end, k);
        }
        if (length >= 3) {
          const pk = key2(t, start);
          const candidates = prefixFilter[slot(pk)] === 1 ? prefixes.get(pk) : undefined;
          if (candidates !== undefined) {
            for (const c of candidates) if (c.stem.length <= length && t.startsWith(c.stem, start)) hit(c.term, start, end, k);
          }
        }
        const multi = inWords ? phrases.get(h) : undefined;
        if (multi !== undefined) {
          for (const { first, phrase: p } of multi) {
            if (first.length !== length || !t.startsWith(first, start) || k + p.rest.length >= w.count) continue;
            let ok = true;
            for (let j = 0; j < p.rest.length && ok; j++) {
              const ns = w.starts[k + 1 + j]!;
              const nl = w.ends[k + 1 + j]! - ns;
              const want = p.rest[j]!;
              ok = (j === p.rest.length - 1 && p.lastIsPrefix ? nl >= want.length : nl === want.length) && t.startsWith(want, ns);
            }
            if (ok) hit(p.term, start, w.ends[k + p.rest.length]!, k);
          }
        }
      }

      // Stems found anywhere inside a word.
      for (const { stem, term } of infixes) {
        let at = t.indexOf(stem);
        while (at >= 0) {
          let from = at;
          while (from > 0 && isWordCode(t.charCodeAt(from - 1))) from--;
          let to = at + stem.length;
          while (to < t.length && isWordCode(t.charCodeAt(to))) to++;
          hit(term, from, to, wordIndexAt(w.starts, w.count, from));
          at = t.indexOf(stem, to);
        }
      }

      // Han, kana, Hangul: substrings.
      if ((n.scripts & (SCRIPT_HAN | SCRIPT_KANA | SCRIPT_HANGUL)) !== 0) {
        // Leftmost, longest first, not overlapping (as a global alternation would find them).
        for (let at = 0; at < t.length; ) {
          const found = longestLiteralAt(literalTerms, t, at);
          if (found === undefined) {
            at++;
            continue;
          }
          const lit = literals.get(found)!;
          if (!inException(t, at, found, lit.exceptions)) hit(lit.term, at, at + found.length, -1);
          at += found.length;
        }
      }

      // Masked spellings ("f*ck", "F@!#", "b****"), on the original text where the symbols are intact: from each
      // mask symbol, the token around it (letters and symbols) is compared with the maskable words.
      MASK_CHARS.lastIndex = 0;
      let lastEnd = -1;
      let mm: RegExpExecArray | null;
      while ((mm = MASK_CHARS.exec(text)) !== null) {
        const at = mm.index;
        if (at < lastEnd) continue;
        let from = at;
        while (from > 0 && isMaskTokenChar(text.charCodeAt(from - 1))) from--;
        let to = at + 1;
        while (to < text.length && isMaskTokenChar(text.charCodeAt(to))) to++;
        lastEnd = to;
        MASK_CHARS.lastIndex = to;
        const length = to - from;
        if (length < 3 || length > 12 || !isLetterCode(text.charCodeAt(from))) continue;
        const token = text.slice(from, to).toLowerCase();
        for (const candidate of maskable) {
          if (candidate.word.length === length && maskMatches(token, candidate.word)) {
            if (!allowed.has(candidate.category)) break;
            matches.push({ rule: candidate.term.rule, start: from, end: to });
            keep *= 1 - candidate.weight;
            break;
          }
        }
      }

      // Threats and hate aimed at someone.
      for (const h of matchRules(THREATS, n)) {
        const r = THREATS.rules[h.rule]!;
        const category = THREATS.groups[r.group] as ToxicCategory;
        if (!allowed.has(category)) continue;
        const span = toOriginal(n, h.start, h.end);
        matches.push({ rule: r.id, start: span.start, end: span.end });
        keep *= 1 - r.weight;
      }

      if (directed) keep *= 1 - 0.3;
      const score = 1 - keep;
      return { score, flagged: score >= threshold, matches };
    },
  };
}

/** The literal at `at` is part of one of its exceptions (a harmless word that contains it). */
function inException(text: string, at: number, literal: string, exceptions: readonly string[]): boolean {
  for (const e of exceptions) {
    const offset = e.indexOf(literal);
    if (offset >= 0 && at - offset >= 0 && text.startsWith(e, at - offset)) return true;
  }
  return false;
}

function isLetterCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** Letters and the symbols that mask them. */
function isMaskTokenChar(c: number): boolean {
  return isLetterCode(c) || c === 42 || c === 35 || c === 64 || c === 33 || c === 38 || c === 37 || c === 36;
}

function isWordCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c < 0x2000);
}

function wordIndexAt(starts: Int32Array, count: number, pos: number): number {
  // Binary search: the last word starting at or before pos.
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= pos) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * "f*ck" against "fuck": same length, symbols stand for any letter, the first letter equal, and either two letters
 * shown or only the first one in a word of four or more ("f***", "b****").
 */
function maskMatches(token: string, word: string): boolean {
  let shown = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 42 || c === 35 || c === 64 || c === 33 || c === 38 || c === 37 || c === 36) continue;
    if (token[i] !== word[i]) return false;
    shown++;
  }
  return token[0] === word[0] && (shown >= 2 || (shown === 1 && token.length >= 4)) && shown < token.length;
}
