// The text a request carries, read out of the body shapes of every client API: chat messages (string or content
// parts), completions' `prompt`, embeddings' `input`; Anthropic's and Ollama's top-level `system`, Responses'
// `instructions` and `input` items. Shared by the localizer (which language?) and the guards (what to scan).

/** Which messages to read: the last user message, every user message, or every message (system and tool too). */
export type MessageSelection = 'last_user' | 'user' | 'all';

/** One piece of text and where it is in the body, so a guard can replace it (redaction). */
export interface TextPart {
  readonly text: string;
  /** Index into the message list (`messages`, or Responses' `input` items), or -1 for a top-level text field. */
  readonly message: number;
  /** The message list `message` indexes: `messages` unless said (`input` for Responses' items). */
  readonly list?: 'messages' | 'input';
  /** Index into the message's content parts, or -1 when the content is a plain string. */
  readonly part: number;
  /** The message's role (`user`, `system`...), or the top-level field (`prompt`, `input`, `system`, `instructions`). */
  readonly role: string;
}

/** Responses' `input` when it is a list of items (messages) rather than strings. */
function inputItems(body: Readonly<Record<string, unknown>>): unknown[] | null {
  const input = body['input'];
  return Array.isArray(input) && input.some((item) => typeof item === 'object' && item !== null) ? input : null;
}

/** The text parts of a request body, in body order. Non-text parts (images, audio) are skipped. */
export function requestText(body: Readonly<Record<string, unknown>>, selection: MessageSelection): TextPart[] {
  const out: TextPart[] = [];
  if (selection === 'all') {
    // Instructions outside the message list: Anthropic's and Ollama's `system`, Responses' `instructions`.
    for (const field of ['system', 'instructions'] as const) pushContent(out, body[field], -1, field);
  }
  const items = inputItems(body);
  const list = items === null ? 'messages' : 'input';
  const messages = items ?? body['messages'];
  if (Array.isArray(messages)) {
    let from = 0;
    if (selection === 'last_user') {
      from = messages.length;
      for (let i = messages.length - 1; i >= 0; i--) {
        if ((messages[i] as { role?: unknown } | null)?.role === 'user') {
          from = i;
          break;
        }
      }
    }
    for (let i = from; i < messages.length; i++) {
      const message = messages[i] as { role?: unknown; content?: unknown } | null;
      if (typeof message !== 'object' || message === null) continue;
      const role = typeof message.role === 'string' ? message.role : '';
      if (selection !== 'all' && role !== 'user') continue;
      pushContent(out, message.content, i, role, list);
      if (selection === 'last_user') break;
    }
    if (items !== null) return out;
    return out;
  }
  for (const field of ['prompt', 'input'] as const) {
    const value = body[field];
    if (typeof value === 'string') out.push({ text: value, message: -1, part: -1, role: field });
    else if (Array.isArray(value)) {
      value.forEach((item, k) => {
        if (typeof item === 'string') out.push({ text: item, message: -1, part: k, role: field });
      });
    }
  }
  return out;
}

/** Content part types that carry text: OpenAI's and Anthropic's `text`, Responses' `input_text` / `output_text`. */
const TEXT_TYPES: ReadonlySet<unknown> = new Set(['text', 'input_text', 'output_text']);

function pushContent(out: TextPart[], content: unknown, message: number, role: string, list: 'messages' | 'input' = 'messages'): void {
  const where = list === 'input' ? { list } : {};
  if (typeof content === 'string') {
    out.push({ text: content, message, part: -1, role, ...where });
    return;
  }
  if (!Array.isArray(content)) return;
  content.forEach((part: unknown, k) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (p !== null && typeof p === 'object' && TEXT_TYPES.has(p.type) && typeof p.text === 'string') out.push({ text: p.text, message, part: k, role, ...where });
  });
}

/** The last user message's text (or the prompt), joined: what the user wrote most recently. */
export function lastUserText(body: Readonly<Record<string, unknown>>): string {
  const parts = requestText(body, 'last_user');
  return parts.length === 1 ? parts[0]!.text : parts.map((p) => p.text).join('\n');
}
