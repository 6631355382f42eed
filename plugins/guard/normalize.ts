// Text normalisation for the guard scanners: one pass that undoes the usual tricks used to slip words past a
// matcher, and keeps, for every character of the result, where it came from in the original text.
//
//   normalize(text)  the lower-cased matching form, as a string
//   prepare(text)    the same, with the offset maps and script flags the scanners use (memoised: the scanners
//                    of one chain call it on the same string one after the other, and only the first pays)
//
// What it undoes, in order:
//  1. Unicode NFKC (fullwidth ｌｅｔｔｅｒｓ, 𝐦𝐚𝐭𝐡 𝐥𝐞𝐭𝐭𝐞𝐫𝐬, ligatures, circled and compatibility forms), then lower case.
//     Zero-width and invisible characters (U+200B–U+200F, U+2060–U+2064, U+FEFF, soft hyphen, bidi controls,
//     variation selectors, Hangul fillers) are dropped. Unicode "tag" characters, which can hide an ASCII
//     message inside an emoji, are turned back into the ASCII they encode. Combining accents are composed onto
//     their letter (NFD Vietnamese becomes NFC) or, when nothing composes (Zalgo text), dropped. Arabic loses
//     its short-vowel marks and tatweel, and alef, yeh and teh marbuta variants are unified. Curly quotes and
//     dashes become ASCII. Every run of white space becomes one space.
//  2. Spacing tricks: three or more single letters separated by single spaces are joined ("i g n o r e"), and a
//     hyphen, dot or underscore between letters is removed when one side is a short fragment ("ig-nore",
//     "ig.nore", "i-g-n-o-r-e"), or becomes a space between two whole words ("self-driving").
//  3. Homoglyphs: Cyrillic and Greek letters that look like Latin ones are folded to Latin inside words that also
//     hold Latin letters ("іgnоrе" with Cyrillic і, о, е), and in all-look-alike words when the text has no genuine
//     Cyrillic or Greek at all. Russian or Greek text is left alone: its words always contain letters without a
//     Latin twin.
//  4. Leetspeak: in words mixing letters with 0 1 3 4 5 7 @ $ (inside the word, or one leading it) and ! |
//     (inside only), those become o i e a s t a s i l ("1gn0r3" → "ignore", "$h1t" → "shit", "k!ll" → "kill",
//     "he11" → "hell"). Tokens such as "mp3", "ipv4", "covid19", "4th", "5pm", "!important" are left as they are.
//  5. Base64: a run of 24 or more base64 characters that decodes to printable UTF-8 text is decoded once, and
//     the decoded text (normalised by steps 1–4) is appended after the text, mapped to the span of the blob.
//
// Cost: about 50 µs for 4 KB of mixed prose and code on one core. The loops run over typed arrays (the input is
// copied into one first, whatever V8's string representation), and work that a text cannot need is skipped
// (pass 2 runs only where pass 1 saw separators between letters, spelled-out letters, leet symbols next to
// letters or look-alikes). Per call it allocates the result string and two small offset arrays.

import { Buffer } from 'node:buffer';

/** Script flags of a prepared text (bit set in `Normalized.scripts`). */
export const SCRIPT_LATIN = 1;
export const SCRIPT_HAN = 2;
export const SCRIPT_KANA = 4;
export const SCRIPT_HANGUL = 8;
export const SCRIPT_CYRILLIC = 16;
export const SCRIPT_ARABIC = 32;
export const SCRIPT_GREEK = 64;
/** Letters only Vietnamese uses (đ ơ ư ă and the stacked-tone vowels U+1EA0–U+1EF9). */
export const SCRIPT_VIETNAMESE = 128;
/** Something was decoded from base64 and appended. */
export const DECODED_BASE64 = 256;

/** Tricks undone (bits of `Normalized.tricks`): evidence that someone tried to hide words from a matcher. */
export const TRICK_SPACED = 1; // four or more letters spelled out with spaces between them
export const TRICK_HOMOGLYPH = 2; // Cyrillic/Greek look-alikes inside Latin words
export const TRICK_LEET = 4; // leetspeak
export const TRICK_INVISIBLE = 8; // zero-width characters between letters, bidi overrides, tag characters
export const TRICK_BASE64 = 16; // a base64 blob that decodes to text

export interface Normalized {
  /** The text as given. */
  readonly original: string;
  /** The matching form: lower case, single spaces, tricks undone, base64 decodings appended. */
  readonly text: string;
  /**
   * For each UTF-16 unit of `text` before `decodedFrom`: start of its source in `original` (16-bit when the
   * original is shorter than 64 Ki units, to keep the map small). Use `toOriginal` rather than reading it.
   */
  readonly starts: Uint16Array | Int32Array;
  /** For the same units: how much longer than one unit the source is (clamped at 255; an accent is counted in). */
  readonly extra: Uint8Array;
  /** The appended base64 decodings: text[from, to) came from original[start, end). */
  readonly decoded: readonly { from: number; to: number; start: number; end: number }[];
  /** SCRIPT_* flags of the letters seen, and DECODED_BASE64. */
  readonly scripts: number;
  /** Where the appended base64 decodings start in `text` (`text.length` when there are none). */
  readonly decodedFrom: number;
  /** TRICK_* bits: which obfuscations were undone. */
  readonly tricks: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables, built once at load (about 10 ms).

/** TABLE[c]: what BMP code unit c becomes (NFKC + lower case + the folds above); DROP, COMPLEX or MARK. */
const TABLE = new Uint16Array(0x10000);
const DROP = 0;
/** Maps to more than one unit (ligatures, "㎏", "½"): see COMPLEX_MAP. */
const COMPLEX = 0xffff;
/** A combining accent: composed onto the previous letter, or dropped. */
const MARK = 0xfffe;
const COMPLEX_MAP = new Map<number, string>();

/** CLASS[c] for normalised code units. */
const CLASS = new Uint8Array(0x10000);
const C_LETTER = 1;
const C_DIGIT = 2;
const C_LATIN = 4;
/** A Cyrillic or Greek letter that looks like a Latin one (HOMOGLYPH[c] is its Latin twin). */
const C_CONFUSABLE = 8;
/** A Cyrillic or Greek letter without a Latin twin: proof of genuine Cyrillic/Greek text. */
const C_GENUINE = 16;
/** A leetspeak stand-in: 0 1 3 4 5 7 @ $ ! | */
const C_LEET = 32;
/** Hyphen, dot, underscore, middle dot: word-internal separators. */
const C_SEP = 64;

const SCRIPT = new Uint8Array(0x10000);
const HOMOGLYPH = new Uint16Array(0x10000);
const LEET = new Uint16Array(128);

function buildTables(): void {
  const letter = /\p{L}/u;
  const digit = /\p{Nd}/u;
  const latin = /\p{Script=Latin}/u;
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue; // surrogates: handled by the scanning loop
    if (c < 0x80) {
      TABLE[c] = c >= 65 && c <= 90 ? c + 32 : c;
      continue;
    }
    // Large ranges that NFKC and lower-casing leave alone: CJK ideographs, Yi, Hangul syllables.
    if ((c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3)) {
      TABLE[c] = c;
      continue;
    }
    const s = String.fromCharCode(c).normalize('NFKC').toLowerCase().normalize('NFC');
    if (s.length === 1) TABLE[c] = s.charCodeAt(0);
    else if (s.length === 0) TABLE[c] = DROP;
    else {
      TABLE[c] = COMPLEX;
      COMPLEX_MAP.set(c, s);
    }
  }
  // White space of every kind becomes a space (NFKC already does U+00A0, U+2000–U+200A, U+3000).
  for (const c of [9, 10, 11, 12, 13, 0x85, 0x2028, 0x2029, 0x1680]) TABLE[c] = 32;
  // Other C0/C1 controls.
  for (let c = 0; c < 32; c++) if (TABLE[c] !== 32) TABLE[c] = DROP;
  for (let c = 0x7f; c <= 0x9f; c++) if (c !== 0x85) TABLE[c] = DROP;
  // Invisible characters.
  const invisible: [number, number][] = [
    [0x00ad, 0x00ad], // soft hyphen
    [0x034f, 0x034f], // combining grapheme joiner
    [0x061c, 0x061c], // Arabic letter mark
    [0x115f, 0x1160], // Hangul fillers
    [0x17b4, 0x17b5],
    [0x180b, 0x180f], // Mongolian free variation selectors, vowel separator
    [0x200b, 0x200f], // zero width space, ZWNJ, ZWJ, LRM, RLM
    [0x202a, 0x202e], // bidi embeddings and overrides
    [0x2060, 0x2064], // word joiner, invisible operators
    [0x2066, 0x206f], // bidi isolates, deprecated format characters
    [0x3164, 0x3164], // Hangul filler
    [0xfe00, 0xfe0f], // variation selectors
    [0xfeff, 0xfeff], // BOM / zero width no-break space
    [0xffa0, 0xffa0], // halfwidth Hangul filler
    [0xfff9, 0xfffb], // interlinear annotation
  ];
  for (const [a, b] of invisible) for (let c = a; c <= b; c++) TABLE[c] = DROP;
  // Combining accents: composed or dropped by the scanning loop.
  const marks: [number, number][] = [
    [0x0300, 0x036f],
    [0x1ab0, 0x1aff],
    [0x1dc0, 0x1dff],
    [0x20d0, 0x20ff],
    [0xfe20, 0xfe2f],
  ];
  for (const [a, b] of marks) for (let c = a; c <= b; c++) TABLE[c] = MARK;
  // Arabic: short vowels, Quranic marks and tatweel dropped; alef, yeh, teh marbuta variants unified.
  for (let c = 0x064b; c <= 0x065f; c++) TABLE[c] = DROP;
  for (const c of [0x0670, 0x0640, 0x06d6, 0x06d7, 0x06d8, 0x06d9, 0x06da, 0x06db, 0x06dc]) TABLE[c] = DROP;
  for (const c of [0x0622, 0x0623, 0x0625, 0x0671]) TABLE[c] = 0x0627;
  TABLE[0x0649] = 0x064a; // alef maksura → yeh
  TABLE[0x0629] = 0x0647; // teh marbuta → heh
  // Typographic quotes and dashes → ASCII.
  for (const c of [0x2018, 0x2019, 0x201a, 0x201b, 0x2032, 0x02bc, 0xff07]) TABLE[c] = 39;
  for (const c of [0x201c, 0x201d, 0x201e, 0x201f, 0x2033, 0x00ab, 0x00bb]) TABLE[c] = 34;
  for (const c of [0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xfe58, 0xfe63]) TABLE[c] = 45;
  // Latin look-alikes that NFKC keeps: script g, dotless i, Russian yo as ye (both spellings are used).
  TABLE[0x0261] = 103;
  TABLE[0x0131] = 105;
  TABLE[0x0451] = 0x0435;
  TABLE[0x0401] = 0x0435;

  // Character classes of the normalised form.
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const s = String.fromCharCode(c);
    let k = 0;
    if (c < 0x80) {
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) k = C_LETTER | C_LATIN;
      else if (c >= 48 && c <= 57) k = C_DIGIT;
    } else if ((c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3)) k = C_LETTER;
    else if (letter.test(s)) k = latin.test(s) ? C_LETTER | C_LATIN : C_LETTER;
    else if (digit.test(s)) k = C_DIGIT;
    CLASS[c] = k;
  }
  for (const ch of '0134 57@$!|') if (ch !== ' ') CLASS[ch.charCodeAt(0)] |= C_LEET;
  for (const ch of '-._\u00b7\u2022') CLASS[ch.charCodeAt(0)] |= C_SEP;

  // Homoglyphs (lower case; the text is lower-cased first). Cyrillic, then Greek.
  const pairs = 'аa вb еe кk мm нh оo рp сc тt уy хx ѕs іi їi јj һh ԁd ԛq ԝw ӏl ԍg αa βb εe ηn ιi κk νv οo ρp τt υu χx γy ωw';
  for (const pair of pairs.split(' ')) {
    const c = pair.charCodeAt(0);
    HOMOGLYPH[c] = pair.charCodeAt(1);
    CLASS[c] |= C_CONFUSABLE;
  }
  for (let c = 0x0370; c <= 0x052f; c++) {
    if ((CLASS[c]! & C_LETTER) !== 0 && (CLASS[c]! & C_CONFUSABLE) === 0) CLASS[c] |= C_GENUINE;
  }
  LEET[48] = 111; // 0 o
  LEET[49] = 105; // 1 i (l when doubled)
  LEET[51] = 101; // 3 e
  LEET[52] = 97; // 4 a
  LEET[53] = 115; // 5 s
  LEET[55] = 116; // 7 t
  LEET[64] = 97; // @ a
  LEET[36] = 115; // $ s
  LEET[33] = 105; // ! i
  LEET[124] = 108; // | l

  // Scripts.
  const range = (a: number, b: number, flag: number): void => {
    for (let c = a; c <= b; c++) if ((CLASS[c]! & C_LETTER) !== 0) SCRIPT[c] = flag;
  };
  range(0x0370, 0x03ff, SCRIPT_GREEK);
  range(0x0400, 0x052f, SCRIPT_CYRILLIC);
  range(0x0600, 0x06ff, SCRIPT_ARABIC);
  range(0x0750, 0x077f, SCRIPT_ARABIC);
  range(0x1100, 0x11ff, SCRIPT_HANGUL);
  range(0x3130, 0x318f, SCRIPT_HANGUL);
  range(0xac00, 0xd7a3, SCRIPT_HANGUL);
  range(0x3040, 0x30ff, SCRIPT_KANA);
  range(0x31f0, 0x31ff, SCRIPT_KANA);
  range(0x3400, 0x4dbf, SCRIPT_HAN);
  range(0x4e00, 0x9fff, SCRIPT_HAN);
  range(0xf900, 0xfaff, SCRIPT_HAN);
  range(0x1ea0, 0x1ef9, SCRIPT_VIETNAMESE);
  for (const c of [0x0111, 0x01a1, 0x01b0, 0x0103]) SCRIPT[c] = SCRIPT_VIETNAMESE;
  // The CJK ideographic full stop, comma and the Japanese long vowel mark count as CJK word characters.
  CLASS[0x30fc] |= C_LETTER;
  SCRIPT[0x30fc] = SCRIPT_KANA;
}
buildTables();

/** A letter or digit of the normalised form. */
export function isWordChar(code: number): boolean {
  return (CLASS[code]! & (C_LETTER | C_DIGIT)) !== 0;
}

/** A letter of a script written without spaces between words (Han, kana, Hangul). */
export function isWordlessScript(code: number): boolean {
  return (SCRIPT[code]! & (SCRIPT_HAN | SCRIPT_KANA | SCRIPT_HANGUL)) !== 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Scratch buffers, reused across calls (the scanners are synchronous, so nothing else can use them meanwhile).

let cap = 0;
let OUT = new Uint16Array(0);
let ST = new Int32Array(0);
let EN = new Int32Array(0);
let WIDE = new Uint8Array(0);
let OUT2 = new Uint16Array(0);
let ST2 = new Int32Array(0);
let EN2 = new Int32Array(0);

function ensure(size: number): void {
  if (size <= cap) return;
  const next = Math.max(size, cap * 2, 1024);
  const grow16 = (a: Uint16Array<ArrayBuffer>): Uint16Array<ArrayBuffer> => {
    const b = new Uint16Array(next);
    b.set(a);
    return b;
  };
  const grow32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
    const b = new Int32Array(next);
    b.set(a);
    return b;
  };
  OUT = grow16(OUT);
  OUT2 = grow16(OUT2);
  ST = grow32(ST);
  EN = grow32(EN);
  ST2 = grow32(ST2);
  EN2 = grow32(EN2);
  const w = new Uint8Array(next);
  w.set(WIDE);
  WIDE = w;
  cap = next;
}

const ASTRAL = new Map<number, string>();
const COMPOSED = new Map<number, number>();

// State of pass 1 and 2, shared with their helpers.
let n1 = 0;
let scripts = 0;
let genuine = false;
let tricks = 0;
/** Pass 1 saw something the structural part of pass 2 may change: a separator after a letter, or single letters. */
let needStructure = false;
/** Pass 1 saw something the word part of pass 2 may change: a leet symbol next to a letter, or a look-alike. */
let needWords = false;
/** A helper ran out of room in the scratch buffers: pass 1 starts again with bigger ones. */
let overflow = false;

/** Zero-width characters that have no business between two letters, and bidi overrides and isolates. */
function isHidingChar(c: number): boolean {
  return c === 0x200b || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

function isBidiControl(c: number): boolean {
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/** Appends one normalised unit (not a space, not a mark) to OUT. */
function push(v: number, start: number, end: number): void {
  if (n1 >= cap) {
    overflow = true;
    return;
  }
  OUT[n1] = v;
  ST[n1] = start;
  EN[n1] = end;
  WIDE[n1] = 0;
  n1++;
  if (v >= 0x80) {
    scripts |= SCRIPT[v]!;
    if ((CLASS[v]! & C_GENUINE) !== 0) genuine = true;
  } else if (v >= 97 && v <= 122) scripts |= SCRIPT_LATIN;
}

/** A space: collapsed with the one before it (a collapsed run is marked "wide"). */
function pushSpace(start: number, end: number): void {
  if (n1 === 0) return;
  if (OUT[n1 - 1] === 32) {
    WIDE[n1 - 1] = 1;
    return;
  }
  push(32, start, end);
}

/** A combining accent: composed onto the letter before it, else dropped (its span joins that letter). */
function pushMark(mark: number, end: number): void {
  if (n1 === 0 || OUT[n1 - 1] === 32) return;
  const prev = OUT[n1 - 1]!;
  const key = prev * 0x10000 + mark;
  let composed = COMPOSED.get(key);
  if (composed === undefined) {
    const s = (String.fromCharCode(prev) + String.fromCharCode(mark)).normalize('NFC').toLowerCase();
    composed = s.length === 1 ? s.charCodeAt(0) : 0;
    if (COMPOSED.size < 4096) COMPOSED.set(key, composed);
  }
  if (composed !== 0) {
    OUT[n1 - 1] = composed;
    if (composed >= 0x80) scripts |= SCRIPT[composed]!;
  }
  EN[n1 - 1] = end;
}

/** Several units from one source character (ligatures, astral letters). */
function pushString(s: string, start: number, end: number): void {
  for (let k = 0; k < s.length; k++) {
    const u = s.charCodeAt(k);
    const v = u >= 0xd800 && u <= 0xdfff ? u : TABLE[u]!;
    if (v === 32) pushSpace(start, end);
    else if (v === MARK) pushMark(u, end);
    else if (v !== DROP && v !== COMPLEX) push(v, start, end);
    else if (v === COMPLEX) push(u, start, end);
  }
}

/** 1 for A–Z a–z 0–9 + / - _ */
const BASE64_ALPHABET = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') BASE64_ALPHABET[ch.charCodeAt(0)] = 1;

/**
 * For each ASCII input unit: the unit it becomes (low 16 bits), its kind for pass 2's needs (bits 16–17: 1 letter
 * or digit, 2 leet symbol, 3 word separator, 0 other), and flags.
 */
const ASCII_INFO = new Uint32Array(128);
const A_BASE64 = 1 << 20;
const A_SPACE = 1 << 21;
const A_DROP = 1 << 22;
const A_LOWER = 1 << 23;
const A_BANG = 1 << 24;
for (let c = 0; c < 128; c++) {
  const v = TABLE[c]!;
  let kind = 0;
  if ((v >= 97 && v <= 122) || (v >= 48 && v <= 57)) kind = 1;
  if ('0134 57@$!|'.includes(String.fromCharCode(v)) && v !== 32) kind = 2;
  if (v === 45 || v === 46 || v === 95) kind = 3;
  let info = v | (kind << 16);
  if (BASE64_ALPHABET[c] === 1) info |= A_BASE64;
  if (v === 32) info |= A_SPACE;
  if (v === DROP) info |= A_DROP;
  if (v >= 97 && v <= 122) info |= A_LOWER;
  if (v === 33 || v === 124) info |= A_BANG;
  ASCII_INFO[c] = info;
}

/** Base64 candidates found by pass 1: [start, end) pairs in the original text. */
const blobSpans: number[] = [];

/**
 * Pass 1: NFKC, lower case, invisibles, marks, white space. Fills OUT/ST/EN/WIDE and returns the length. Also
 * notes runs of 24 or more base64 characters in `blobSpans` when `findBlobs` is set.
 */
function pass1(text: string, findBlobs: boolean): number {
  ensure(text.length * 2 + 64);
  // The text is copied once into a typed array (a native copy): the loop then reads one kind of memory whatever
  // the string's internal representation (one- or two-byte, flat, sliced, concatenated), which keeps it fast.
  const units = toUnits(text);
  for (;;) {
    overflow = false;
    const n = pass1Into(text, units, findBlobs);
    if (!overflow) return n;
    ensure(cap * 2);
  }
}

let SRC_BUFFER = Buffer.alloc(0);
let SRC = new Uint16Array(0);

/** One try of pass 1 with the current buffers; sets `overflow` when they are too small (NFKC can expand 18×). */
function pass1Into(text: string, src: Uint16Array, findBlobs: boolean): number {
  const len = text.length;
  n1 = 0;
  // The buffers stay the same during the loop (a helper that runs out of room sets `overflow` instead of growing
  // them), so the optimiser can keep them in registers.
  const out = OUT;
  const st = ST;
  const en = EN;
  const wide = WIDE;
  const limit = cap - 2;
  let n = 0;
  let latin = false;
  let run = 0;
  // For deciding whether pass 2 has work: the kind of the last unit (1 letter or digit, 2 leet symbol, 3
  // separator, 0 other), the length of the current token and how many one-character tokens came in a row.
  let prevKind = 0;
  let tokenLen = 0;
  let singles = 0;
  let structure = false;
  let wordsWork = false;
  let sepAfterWord = false;
  blobSpans.length = 0;
  let seen = 0;
  for (let i = 0; i < len; i++) {
    const c = src[i]!;
    if (c < 0x80) {
      // One look-up gives the mapped unit and its properties (see ASCII_INFO).
      const info = ASCII_INFO[c]!;
      seen |= info;
      if ((info & A_BASE64) !== 0) run++;
      else if (run !== 0) {
        if (run >= 24 && findBlobs) blobSpans.push(i - run, i);
        run = 0;
      }
      if (n >= limit) {
        overflow = true;
        return n;
      }
      if ((info & A_SPACE) !== 0) {
        if (n === 0) continue;
        if (out[n - 1] === 32) wide[n - 1] = 1;
        else {
          if (tokenLen === 1 && prevKind === 1) {
            if (++singles >= 3) structure = true;
          } else singles = 0;
          tokenLen = 0;
          prevKind = 0;
          sepAfterWord = false;
          out[n] = 32;
          st[n] = i;
          en[n] = i + 1;
          wide[n] = 0;
          n++;
        }
      } else if ((info & A_DROP) === 0) {
        out[n] = info & 0xffff;
        st[n] = i;
        en[n] = i + 1;
        n++;
        tokenLen++;
        let k = (info >>> 16) & 3;
        // "!" and "|" stand for letters only after one ("k!ll"), not before a word ("!order", "|grep").
        if ((info & A_BANG) !== 0 && prevKind !== 1) k = 0;
        if (k !== prevKind) {
          if ((k === 1 && prevKind === 2) || (k === 2 && prevKind === 1)) wordsWork = true;
          // A separator between two letters or digits ("ig-nore", "e.g", "end.Now"); not "slow. We".
          else if (k === 1 && prevKind === 3 && sepAfterWord) structure = true;
          sepAfterWord = k === 3 && prevKind === 1;
          prevKind = k;
        }
      }
      continue;
    }
    if (run >= 24 && findBlobs) blobSpans.push(i - run, i);
    run = 0;
    const t = TABLE[c]!;
    if (t > 32 && t < MARK && (c < 0xd800 || c > 0xdfff)) {
      const k = CLASS[t]!;
      if ((k & C_CONFUSABLE) !== 0 || prevKind === 2) wordsWork = true;
      prevKind = (k & (C_LETTER | C_DIGIT)) !== 0 ? 1 : (k & C_SEP) !== 0 ? 3 : 0;
      tokenLen++;
      // A BMP character that maps to one ordinary unit (most non-ASCII text): inlined push().
      if (n >= limit) {
        overflow = true;
        return n;
      }
      out[n] = t;
      st[n] = i;
      en[n] = i + 1;
      n++;
      if (t >= 0x80) {
        scripts |= SCRIPT[t]!;
        if ((CLASS[t]! & C_GENUINE) !== 0) genuine = true;
      } else if (t >= 97 && t <= 122) latin = true;
      continue;
    }
    // Slow path: hand the state to the helpers, then take it back (they may have grown the buffers). Whatever
    // they emit, pass 2 runs in full.
    structure = true;
    wordsWork = true;
    prevKind = 0;
    tokenLen = 2;
    n1 = n;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && src[i + 1]! >= 0xdc00 && src[i + 1]! <= 0xdfff) {
      const cp = (c - 0xd800) * 0x400 + (src[i + 1]! - 0xdc00) + 0x10000;
      if (cp >= 0xe0000 && cp <= 0xe007f) {
        // Tag characters: invisible ASCII. Read them as the ASCII they carry.
        const a = cp - 0xe0000;
        if (a >= 32 && a < 127) {
          const v = TABLE[a]!;
          if (v === 32) pushSpace(i, i + 2);
          else push(v, i, i + 2);
          tricks |= TRICK_INVISIBLE;
        }
      } else if (cp < 0xe0100 || cp > 0xe01ef) {
        // (the variation selectors supplement, U+E0100–U+E01EF, is invisible and dropped)
        let s = ASTRAL.get(cp);
        if (s === undefined) {
          s = String.fromCodePoint(cp).normalize('NFKC').toLowerCase();
          if (ASTRAL.size < 4096) ASTRAL.set(cp, s);
        }
        pushString(s, i, i + 2);
      }
      i++;
    } else {
      const v = TABLE[c]!;
      if (v === 32) pushSpace(i, i + 1);
      else if (v === MARK) pushMark(c, i + 1);
      else if (v === COMPLEX) pushString(COMPLEX_MAP.get(c) ?? '', i, i + 1);
      else if (v !== DROP) push(v, i, i + 1);
      else if (isHidingChar(c) && (isBidiControl(c) || (n > 0 && (CLASS[out[n - 1]!]! & C_LETTER) !== 0 && i + 1 < len && (CLASS[src[i + 1]!]! & C_LETTER) !== 0))) tricks |= TRICK_INVISIBLE;
    }
    n = n1;
    if (overflow) return n;
  }
  if (run >= 24 && findBlobs) blobSpans.push(len - run, len);
  if (latin || (seen & A_LOWER) !== 0) scripts |= SCRIPT_LATIN;
  if (tokenLen === 1 && prevKind === 1 && singles >= 2) structure = true;
  needStructure = structure;
  needWords = wordsWork;
  if (n > 0 && out[n - 1] === 32) n--;
  n1 = n;
  return n;
}

/** Pass 2: spacing tricks, homoglyphs, leetspeak. Reads OUT (length n), writes OUT2; returns the new length. */
function pass2(text: string, n: number): number {
  const out = OUT;
  const st = ST;
  const en = EN;
  const wide = WIDE;
  const out2 = OUT2;
  const st2 = ST2;
  const en2 = EN2;
  const cls = CLASS;
  const WORD = C_LETTER | C_DIGIT;
  let m = 0;
  if (!needStructure) {
    out2.set(out.subarray(0, n));
    st2.set(st.subarray(0, n));
    en2.set(en.subarray(0, n));
    m = n;
  } else {
    // Only spaces and separators can start a change; the stretches between them are copied in bulk.
    let from = 0;
    const flush = (to: number): void => {
      if (to - from > 48) {
        out2.set(out.subarray(from, to), m);
        st2.set(st.subarray(from, to), m);
        en2.set(en.subarray(from, to), m);
        m += to - from;
      } else {
        for (let r = from; r < to; r++, m++) {
          out2[m] = out[r]!;
          st2[m] = st[r]!;
          en2[m] = en[r]!;
        }
      }
    };
    let p = 0;
    while (p < n) {
      const c = out[p]!;
      const atTokenStart = p === 0 || out[p - 1] === 32;
      if (atTokenStart && c !== 32 && (cls[c]! & WORD) !== 0 && (p + 1 === n || out[p + 1] === 32)) {
        // A single letter alone. "i g n o r e": three or more of them with single spaces between them are joined.
        let q = p;
        let count = 1;
        while (q + 2 < n && out[q + 1] === 32 && wide[q + 1] === 0 && (cls[out[q + 2]!]! & WORD) !== 0 && (q + 3 === n || out[q + 3] === 32)) {
          q += 2;
          count++;
        }
        if (count >= 3) {
          if (count >= 4) tricks |= TRICK_SPACED;
          flush(p);
          for (let r = p; r <= q; r += 2) {
            out2[m] = out[r]!;
            st2[m] = st[r]!;
            en2[m] = en[r]!;
            m++;
          }
          p = q + 1;
          from = p;
          continue;
        }
        p = q + 1;
        continue;
      }
      if ((cls[c]! & C_SEP) !== 0 && p > 0 && p + 1 < n && (cls[out[p - 1]!]! & C_LETTER) !== 0 && (cls[out[p + 1]!]! & C_LETTER) !== 0) {
        // A separator between two letters: join a split word, or part two whole words.
        let left = 0;
        for (let r = p - 1; r >= 0 && (cls[out[r]!]! & C_LETTER) !== 0 && left < 4; r--) left++;
        let right = 0;
        for (let r = p + 1; r < n && (cls[out[r]!]! & C_LETTER) !== 0 && right < 4; r++) right++;
        const nextOriginal = text.charCodeAt(st[p + 1]!);
        const sentence = c === 46 && nextOriginal >= 65 && nextOriginal <= 90 && left > 1;
        // A hyphen between two whole words parts them ("self-driving"); other separators, and a hyphen next to a
        // fragment of three letters or less, join ("ig-nore", "prev.ious", "instruc_tions"). "end.Now" is a
        // sentence break.
        flush(p);
        if (sentence || (c === 45 && left > 3 && right > 3)) {
          out2[m] = 32;
          st2[m] = st[p]!;
          en2[m] = en[p]!;
          m++;
        }
        p++;
        from = p;
        continue;
      }
      p++;
    }
    flush(n);
  }

  // Words: runs of letters, digits and leet symbols.
  if (!needWords) return m;
  const ANY = C_LETTER | C_DIGIT | C_LEET;
  let p = 0;
  while (p < m) {
    if ((cls[out2[p]!]! & ANY) === 0) {
      p++;
      continue;
    }
    let q = p;
    let latin = 0;
    let other = 0;
    let leet = 0;
    let first = -1;
    let last = -1;
    for (; q < m; q++) {
      const u = out2[q]!;
      if (u >= 97 && u <= 122) {
        if (first < 0) first = q;
        last = q;
        latin++;
        continue;
      }
      const k = cls[u]!;
      if ((k & ANY) === 0) break;
      if ((k & C_LETTER) !== 0) {
        if (first < 0) first = q;
        last = q;
        if ((k & C_LATIN) !== 0) latin++;
        else other++;
      } else if ((k & C_LEET) !== 0) leet++;
    }
    if (other > 0) {
      let confusable = 0;
      let genuineHere = 0;
      for (let r = p; r < q; r++) {
        const k = cls[out2[r]!]!;
        if ((k & C_CONFUSABLE) !== 0) confusable++;
        else if ((k & C_GENUINE) !== 0) genuineHere++;
      }
      if (confusable > 0 && genuineHere === 0 && (latin > 0 || !genuine)) {
        for (let r = p; r < q; r++) {
          const h = HOMOGLYPH[out2[r]!]!;
          if (h !== 0) out2[r] = h;
        }
        latin += confusable;
        if (latin > confusable) tricks |= TRICK_HOMOGLYPH;
      }
    }
    if (leet > 0 && latin >= 2) foldLeet(p, q, first, last, latin);
    p = q;
  }
  return m;
}

/** Two-letter suffixes of numbers: ordinals and units ("4th", "5pm", "3ds", "7kg"). */
const UNIT_SUFFIXES = new Set('th st nd rd am pm px kb mb gb tb ms mm cm km kg lb hz ft in yo pc gs ds ps bn mn ks'.split(' '));

function isUnitSuffix(a: number, b: number): boolean {
  return UNIT_SUFFIXES.has(String.fromCharCode(a, b));
}

/** Leetspeak in the word OUT2[p, q) whose letters span [first, last]. */
function foldLeet(p: number, q: number, first: number, last: number, latin: number): void {
  let interior = false;
  for (let r = first + 1; r < last; r++) {
    if ((CLASS[OUT2[r]!]! & C_LEET) !== 0) {
      interior = true;
      break;
    }
  }
  const leading = first - p;
  // A single leading stand-in before three or more letters ("1gnore", "$hit"); "4th", "2023abc" stay.
  const lead = OUT2[p]!;
  // A single leading stand-in ("1gnore", "4ll", "$hit"); not "4th", "3ds", "5pm", "2024abc".
  const leadingOk = leading === 1 && latin >= 2 && (CLASS[lead]! & C_LEET) !== 0 && lead !== 33 && lead !== 124 && !(latin === 2 && q - p === 3 && isUnitSuffix(OUT2[p + 1]!, OUT2[p + 2]!));
  if (!interior && !leadingOk) return;
  tricks |= TRICK_LEET;
  const trailing = q - 1 - last;
  const to = interior && trailing <= 2 ? q : last + 1;
  let prevWasOne = false;
  for (let r = p; r < to; r++) {
    const c = OUT2[r]!;
    if (c >= 128 || LEET[c] === 0) {
      prevWasOne = false;
      continue;
    }
    if (r > last && (c === 33 || c === 124)) continue; // "stop!" keeps its "!"
    if (c === 49 && ((r + 1 < q && OUT2[r + 1] === 49) || prevWasOne)) OUT2[r] = 108; // "11" → "ll"
    else OUT2[r] = LEET[c]!;
    prevWasOne = c === 49;
  }
}

const utf16 = new TextDecoder('utf-16le');

interface Part {
  text: string;
  starts: Uint16Array | Int32Array;
  extra: Uint8Array;
}

// Offset maps are carved from shared 1 MB slabs, as Node's Buffer pool does: a typed array over 64 bytes otherwise
// gets its own off-heap backing store, and thousands of those per second made every scavenge slow. A slab is never
// reused, so carved memory starts zeroed, and it is freed once no map from it is alive.
const SLAB_BYTES = 1 << 20;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function carve(bytes: number): { buffer: ArrayBuffer; offset: number } {
  const size = (bytes + 7) & ~7;
  if (size > SLAB_BYTES >> 3) return { buffer: new ArrayBuffer(size), offset: 0 };
  if (slabUsed + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const offset = slabUsed;
  slabUsed += size;
  return { buffer: slab, offset };
}

function zeroedU8(n: number): Uint8Array {
  const { buffer, offset } = carve(n);
  return new Uint8Array(buffer, offset, n);
}

function zeroedU16(n: number): Uint16Array {
  const { buffer, offset } = carve(n * 2);
  return new Uint16Array(buffer, offset, n);
}

function copyI32(from: Int32Array, n: number): Int32Array {
  const { buffer, offset } = carve(n * 4);
  const out = new Int32Array(buffer, offset, n);
  out.set(from.subarray(0, n));
  return out;
}

function materialize(m: number, originalLength: number): Part {
  const text = m === 0 ? '' : utf16.decode(new Uint8Array(OUT2.buffer, 0, m * 2));
  const extra = zeroedU8(m);
  const st2 = ST2;
  const en2 = EN2;
  if (originalLength <= 0xffff) {
    const starts = zeroedU16(m);
    for (let i = 0; i < m; i++) {
      const s = st2[i]!;
      starts[i] = s;
      const d = en2[i]! - s - 1;
      if (d !== 0) extra[i] = d > 255 ? 255 : d;
    }
    return { text, starts, extra };
  }
  const starts = copyI32(ST2, m);
  for (let i = 0; i < m; i++) {
    const d = en2[i]! - st2[i]! - 1;
    if (d !== 0) extra[i] = d > 255 ? 255 : d;
  }
  return { text, starts, extra };
}

/** Steps 1–4 over one string. */
function core(text: string, findBlobs: boolean): Part {
  const n = pass1(text, findBlobs);
  const m = pass2(text, n);
  return materialize(m, text.length);
}

// ---------------------------------------------------------------------------------------------------------------
// Base64.

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_BLOBS = 8;

/** The text a base64 blob encodes, if it decodes to mostly printable UTF-8; else undefined. */
export function decodeBase64Text(blob: string): string | undefined {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < 8) return undefined;
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  let printable = 0;
  let letters = 0;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if ((c >= 32 && c !== 127 && c !== 0xfffd && (c < 0x80 || c > 0x9f)) || c === 9 || c === 10 || c === 13) printable++;
    if ((CLASS[c]! & C_LETTER) !== 0 || c === 32) letters++;
  }
  if (printable < decoded.length * 0.95 || letters < decoded.length * 0.5) return undefined;
  return decoded;
}

// ---------------------------------------------------------------------------------------------------------------

let lastInput: string | undefined;
let lastResult: Normalized | undefined;

/** The matching form of `text` with its offset maps. The last result is memoised. */
export function prepare(text: string): Normalized {
  if (text === lastInput && lastResult !== undefined) return lastResult;
  scripts = 0;
  genuine = false;
  tricks = 0;
  const base = core(text, true);
  let result: Normalized;
  const flagsBase = scripts;
  let blobs: { start: number; end: number; decoded: string }[] | undefined;
  for (let k = 0; k < blobSpans.length && (blobs === undefined || blobs.length < MAX_BLOBS); k += 2) {
    const start = blobSpans[k]!;
    let end = blobSpans[k + 1]!;
    while (end < text.length && end < blobSpans[k + 1]! + 2 && text.charCodeAt(end) === 61) end++; // padding
    const decoded = decodeBase64Text(text.slice(start, end));
    if (decoded !== undefined) (blobs ??= []).push({ start, end, decoded });
  }
  if (blobs === undefined) {
    result = { original: text, text: base.text, starts: base.starts, extra: base.extra, decoded: [], scripts: flagsBase, decodedFrom: base.text.length, tricks };
  } else {
    let flags = flagsBase | DECODED_BASE64;
    let joined = base.text;
    const decoded: { from: number; to: number; start: number; end: number }[] = [];
    for (const blob of blobs) {
      scripts = 0;
      genuine = false;
      const part = core(blob.decoded, false);
      flags |= scripts;
      joined += ' ';
      decoded.push({ from: joined.length, to: joined.length + part.text.length, start: blob.start, end: blob.end });
      joined += part.text;
    }
    result = { original: text, text: joined, starts: base.starts, extra: base.extra, decoded, scripts: flags, decodedFrom: base.text.length, tricks: tricks | TRICK_BASE64 };
  }
  lastInput = text;
  lastResult = result;
  return result;
}

/** The lower-cased matching form of `text` (see the top of this file). */
export function normalize(text: string): string {
  return prepare(text).text;
}

/** Maps the span [start, end) of `n.text` to the original text. A span in a base64 decoding maps to its blob. */
export function toOriginal(n: Normalized, start: number, end: number): { start: number; end: number } {
  const base = n.decodedFrom;
  if (end <= start) {
    const at = start < base ? n.starts[start]! : n.original.length;
    return { start: at, end: at };
  }
  let s: number;
  let e: number;
  if (start < base) s = n.starts[start]!;
  else s = blobAt(n, start)?.start ?? n.original.length;
  if (end - 1 < base) e = n.starts[end - 1]! + 1 + n.extra[end - 1]!;
  else e = blobAt(n, end - 1)?.end ?? n.original.length;
  if (e < s) e = s;
  return { start: s, end: e };
}

/** The decoded region holding text index i (or the one just after it, for the separating space). */
function blobAt(n: Normalized, i: number): { start: number; end: number } | undefined {
  for (const d of n.decoded) if (i < d.to) return d;
  return n.decoded[n.decoded.length - 1];
}

/** The letters and digits of `n.text` alone, with the index of each in `n.text` ("ig nore" → "ignore"). */
export function lettersOnly(n: Normalized): { text: string; index: Int32Array } {
  if (n === lettersOf && lettersResult !== undefined) return lettersResult;
  const src = n.text;
  const units = toUnits(src);
  if (L_BUF.length < src.length) {
    L_BUF = new Uint16Array(src.length * 2);
    L_INDEX = new Int32Array(src.length * 2);
  }
  const buf = L_BUF;
  const idx = L_INDEX;
  let k = 0;
  for (let i = 0; i < src.length; i++) {
    const c = units[i]!;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 0x80 && (CLASS[c]! & (C_LETTER | C_DIGIT)) !== 0)) {
      buf[k] = c;
      idx[k++] = i;
    }
  }
  const result = { text: k === 0 ? '' : utf16.decode(new Uint8Array(buf.buffer, 0, k * 2)), index: copyI32(idx, k) };
  lettersOf = n;
  lettersResult = result;
  return result;
}

// The last result, like prepare's: scanners that share a text ask in a row. (A WeakMap cache cost every scavenge
// an ephemeron pass.)
let lettersOf: Normalized | undefined;
let lettersResult: { text: string; index: Int32Array } | undefined;
let L_BUF = new Uint16Array(0);
let L_INDEX = new Int32Array(0);

/**
 * The words of a prepared text: runs of letters and digits, Han, kana and Hangul excepted (they have no spaces).
 * Words are not sliced out; each has its span in `Normalized.text` and a hash (`wordHash`) for map look-ups.
 */
export interface Words {
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly hashes: Int32Array;
}

/** FNV-1a over the UTF-16 units of s[start, end). */
export function wordHash(s: string, start = 0, end = s.length): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

let wordsOf: Normalized | undefined;
let wordsResult: Words | undefined;
let W_STARTS = new Int32Array(0);
let W_ENDS = new Int32Array(0);
let W_HASHES = new Int32Array(0);

/** `s` as UTF-16 units in a scratch array (valid until the next call): one kind of memory for the loops. */
function toUnits(s: string): Uint16Array {
  if (SRC.length < s.length) {
    SRC_BUFFER = Buffer.alloc(Math.max(s.length * 2, 2048) * 2);
    SRC = new Uint16Array(SRC_BUFFER.buffer, SRC_BUFFER.byteOffset, SRC_BUFFER.length >> 1);
  }
  SRC_BUFFER.write(s, 0, 'utf16le');
  return SRC;
}

/** The words of `n.text`; the last result is memoised (the scanners of one text ask in a row). */
export function words(n: Normalized): Words {
  if (n === wordsOf && wordsResult !== undefined) return wordsResult;
  const text = n.text;
  const units = toUnits(text);
  const len = text.length;
  const max = (len >> 1) + 1;
  if (W_STARTS.length < max) {
    W_STARTS = new Int32Array(max * 2);
    W_ENDS = new Int32Array(max * 2);
    W_HASHES = new Int32Array(max * 2);
  }
  const ws = W_STARTS;
  const we = W_ENDS;
  const wh = W_HASHES;
  let count = 0;
  let start = -1;
  let h = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? units[i]! : 32;
    const isWord = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 0x80 && (CLASS[c]! & (C_LETTER | C_DIGIT)) !== 0 && (SCRIPT[c]! & (SCRIPT_HAN | SCRIPT_KANA | SCRIPT_HANGUL)) === 0);
    if (isWord) {
      if (start < 0) {
        start = i;
        h = 0x811c9dc5 | 0;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else if (start >= 0) {
      ws[count] = start;
      we[count] = i;
      wh[count] = h;
      count++;
      start = -1;
    }
  }
  const result: Words = { count, starts: copyI32(ws, count), ends: copyI32(we, count), hashes: copyI32(wh, count) };
  wordsOf = n;
  wordsResult = result;
  return result;
}
