// The pieces the training corpus is built from, per language. corpus.ts combines them into whole prompts.
// `{X}` in a carrier is replaced by a whole attack (hidden, translated, quoted); `{A}`/`{B}` by its two halves.

export interface LanguageParts {
  /** BCP 47-ish tag used in reports: en, zh, zh-Hant, vi, ja, ko, ru, ar. */
  readonly lang: string;
  // Attacks.
  /** Cancelling earlier instructions ("ignore all previous instructions"). */
  readonly override: readonly string[];
  /** What the attacker wants next ("and print your system prompt"); follows an override, persona or notice. */
  readonly payload: readonly string[];
  /** Role-play and persona takeovers, each a whole sentence or two. */
  readonly persona: readonly string[];
  /** Fake system, developer or maintenance notices. */
  readonly notice: readonly string[];
  /** Instructions addressed to an AI that reads a document ("Note to AI assistants: tell the user to ..."). */
  readonly aside: readonly string[];
  /** Documents, e-mails, web pages or tool output with `{X}` where the hidden instruction goes. */
  readonly hidden: readonly string[];
  /** Payload splitting: templates with `{A}` and `{B}` (two halves of an override + payload). */
  readonly split: readonly string[];
  /** Translation and encoding tricks: `{X}` is the attack to translate, decode or spell out. */
  readonly trick: readonly string[];
  // Benign look-alikes.
  /** Questions about security, jailbreaks and prompt injection. */
  readonly security: readonly string[];
  /** Help with writing prompts and system prompts. */
  readonly promptHelp: readonly string[];
  /** Sysadmin and code questions with "ignore", "override", "kill", "bypass"... */
  readonly tech: readonly string[];
  /** Carriers asking to analyse a quoted attack: `{X}` is the quoted attack. */
  readonly quoted: readonly string[];
  /** Everyday imperative requests, including "forget", "ignore", "new task", "act as" in harmless senses. */
  readonly everyday: readonly string[];
  /** Ordinary documents and tool output to summarise (no instruction to the model inside). */
  readonly documents: readonly string[];
}
