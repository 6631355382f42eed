// Shared types of the guard scanners.
//
// A scanner is a pure, synchronous function over one string. It keeps no per-request state, so one instance
// (made once per config load by its factory) serves every request, and the streaming output guard can call it
// on a growing window of text.

/** One hit: which rule fired and where, as UTF-16 offsets into the ORIGINAL text (end exclusive). */
export interface ScanMatch {
  rule: string;
  start: number;
  end: number;
}

export interface ScanResult {
  /** 0..1: how strongly the text matches what the scanner looks for. */
  score: number;
  /** `score >= threshold`. */
  flagged: boolean;
  /** Spans in the original text, for redaction and for telling the user what fired. */
  matches: ScanMatch[];
}

export interface Scanner<R extends ScanResult = ScanResult> {
  readonly name: string;
  scan(text: string): R;
}
