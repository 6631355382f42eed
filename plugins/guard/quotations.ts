// Where a text quotes something: prompt_injection reads its rules outside quotations (a quoted attack being asked
// about is not said), and no_refusal counts reported speech once (a quoted refusal is not the answer's own).

/** The mark that closes a quotation opened by `c`, or -1 when `c` opens none. */
function closingQuote(c: number): number {
  switch (c) {
    case 0x22: // "…"
    case 0x27: // '…' (when the rule says it is not an apostrophe)
    case 0xff02: // ＂…＂
      return c;
    case 0x201c: // “…”
    case 0x2018: // ‘…’
    case 0x300c: // 「…」
    case 0x300e: // 『…』
      return c + 1;
    case 0x201e: // „…“
      return 0x201c;
    case 0xab: // «…»
      return 0xbb;
    default:
      return -1;
  }
}

/**
 * When an ASCII ' opens or closes a quotation rather than being an apostrophe. Scanners differ here: one reads
 * the original text in any script, another the normalised text with Korean and Japanese particles after a quote.
 */
export interface ApostropheRule {
  /** The ' at `i` opens a quotation. */
  opens(text: string, i: number): boolean;
  /** The ' at `j` closes the quotation opened before it. */
  closes(text: string, j: number): boolean;
}

/**
 * The longest quotation that counts as one: a quoted sentence or two is being talked about, a quoted document is
 * being handed over (and an instruction inside it is addressed to whoever reads it).
 */
export const MAX_QUOTATION = 300;

/**
 * The closed quotations of `text`, as [start, end) pairs of their contents. A quote mark with no closing mark
 * starts nothing, so one stray mark cannot cover the rest of a text.
 */
export function quotations(text: string, apostrophe: ApostropheRule): number[] {
  const ranges: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const close = closingQuote(text.charCodeAt(i));
    if (close < 0) continue;
    if (close === 0x27 && !apostrophe.opens(text, i)) continue;
    let j = i + 1;
    while (j < text.length && !(text.charCodeAt(j) === close && (close !== 0x27 || apostrophe.closes(text, j)))) j++;
    if (j >= text.length) continue;
    if (j - i - 1 <= MAX_QUOTATION) ranges.push(i + 1, j);
    i = j;
  }
  return ranges;
}
