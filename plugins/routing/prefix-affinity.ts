// route.prefix_affinity: one conversation (or one `user`) sticks to one deployment, so it reuses its KV cache.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { CandidateIndex, fmix32, FNV_OFFSET, fnvNumber, fnvString, servedGroup } from './util.ts';

export interface PrefixAffinityOptions {
  /** Points per deployment on the hash ring. More points spread keys more evenly. Default 100. */
  replicas?: number;
  /**
   * How far above the average in-flight load a deployment may be and still take its keys (1.25: 25% above).
   * A deployment over `ceil(load_factor × (total in-flight + 1) / candidates)` passes its keys on to the next
   * deployment on the ring until it drains. Default 1.25.
   */
  load_factor?: number;
}

/** A consistent-hash ring: `replicas` points per deployment, sorted. Owners are universe positions. */
interface Ring {
  /** Number of deployments placed. */
  readonly size: number;
  /** Point positions, ascending, and the owner of each. */
  readonly points: Uint32Array;
  readonly owners: Uint32Array;
}

interface GroupState {
  readonly index: CandidateIndex;
  ring: Ring;
  /** Per owner: `member[o] === version` when it is a current candidate, at candidate position `at[o]`. */
  member: Uint32Array;
  at: Int32Array;
  version: number;
  /** Per owner, the decision stamp at which it was last looked at, so a walk checks each deployment once. */
  seen: Uint32Array;
  stamp: number;
}

/** Code units of a completions `prompt` that identify it (a system preamble plus the start of the text). */
const PROMPT_PREFIX = 1024;
const USER_SEED = fnvString(FNV_OFFSET, 'user\u0000');
const MESSAGES_SEED = fnvString(FNV_OFFSET, 'messages\u0000');
const PROMPT_SEED = fnvString(FNV_OFFSET, 'prompt\u0000');
const ROLE_END = 0x1e;
const MESSAGE_END = 0x1f;

function buildRing(universe: readonly Deployment[], replicas: number): Ring {
  const n = universe.length;
  // Each point is packed with its owner (point × 2^20 + owner, exact in a double) so one numeric sort orders both.
  const packed = new Float64Array(n * replicas);
  for (let owner = 0; owner < n; owner++) {
    const base = fnvString(FNV_OFFSET, universe[owner]!.id);
    for (let r = 0; r < replicas; r++) packed[owner * replicas + r] = fmix32(fnvNumber(base, r)) * 1_048_576 + owner;
  }
  packed.sort();
  const points = new Uint32Array(packed.length);
  const owners = new Uint32Array(packed.length);
  for (let i = 0; i < packed.length; i++) {
    const value = packed[i]!;
    const owner = value % 1_048_576;
    owners[i] = owner;
    points[i] = (value - owner) / 1_048_576;
  }
  return { size: n, points, owners };
}

/** Hashes a message's content: a string, or OpenAI's array of parts (text, image_url, input_audio...). */
function hashContent(hash: number, content: unknown): number {
  if (typeof content === 'string') return fnvString(hash, content);
  if (!Array.isArray(content)) return hash;
  let h = hash;
  for (const part of content as unknown[]) {
    if (typeof part === 'string') {
      h = fnvString(h, part);
    } else if (typeof part === 'object' && part !== null) {
      const p = part as Record<string, unknown>;
      const image = p['image_url'];
      const audio = p['input_audio'];
      if (typeof p['text'] === 'string') h = fnvString(h, p['text']);
      else if (typeof image === 'string') h = fnvString(h, image);
      else if (typeof image === 'object' && image !== null && typeof (image as Record<string, unknown>)['url'] === 'string') {
        h = fnvString(h, (image as Record<string, string>)['url']!);
      } else if (typeof audio === 'object' && audio !== null && typeof (audio as Record<string, unknown>)['data'] === 'string') {
        h = fnvString(h, (audio as Record<string, string>)['data']!);
      } else {
        // A part shape we do not know: rare, so serializing just this part is fine.
        h = fnvString(h, JSON.stringify(p) ?? '');
      }
    }
    h = fnvNumber(h, MESSAGE_END);
  }
  return h;
}

/**
 * The request's affinity key, hashed: the `user` field when it is a non-empty string; else the messages up to
 * and including the first user message (the system prompt and first question identify a conversation; later
 * turns only extend it); else the start of a completions `prompt`. Null when the request has none of these.
 */
export function affinityHash(body: Readonly<Record<string, unknown>>): number | null {
  const user = body['user'];
  if (typeof user === 'string' && user !== '') return fmix32(fnvString(USER_SEED, user));
  const messages = body['messages'];
  if (Array.isArray(messages) && messages.length > 0) {
    let h = MESSAGES_SEED;
    for (const message of messages as unknown[]) {
      if (typeof message !== 'object' || message === null) continue;
      const m = message as Record<string, unknown>;
      const role = m['role'];
      if (typeof role === 'string') h = fnvString(h, role);
      h = fnvNumber(h, ROLE_END);
      h = fnvNumber(hashContent(h, m['content']), MESSAGE_END);
      if (role === 'user') break;
    }
    return fmix32(h);
  }
  let prompt = body['prompt'];
  if (Array.isArray(prompt)) prompt = prompt[0];
  if (typeof prompt === 'string' && prompt !== '') {
    return fmix32(fnvString(PROMPT_SEED, prompt.length > PROMPT_PREFIX ? prompt.slice(0, PROMPT_PREFIX) : prompt));
  }
  return null;
}

/**
 * Prefix-affinity routing for self-hosted servers with a prefix (KV) cache, such as vLLM or SGLang: requests
 * that share a conversation prefix, or the same `user`, go to the same deployment, which then skips recomputing
 * the shared prompt. The key is `user` when set, else a hash of the messages up to and including the first user
 * message, so every turn of a conversation maps to the same deployment.
 *
 * Keys are placed by consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, 2018): each
 * deployment has `replicas` points on a hash ring; a key walks clockwise from its hash and takes the first
 * deployment that can take traffic now and has at most `ceil(load_factor × (total in-flight + 1) / candidates)`
 * requests in flight. When a deployment leaves (unhealthy, cooling down) only its own keys move, about 1/N of
 * them, and come back when it returns; a deployment that gets too busy sheds keys to its ring neighbours.
 * Requests with no key (embeddings) land at a random point of the ring.
 *
 * ```yaml
 * plugins:
 *   - route.prefix_affinity   # or: prefix-affinity
 *   # or, with options:
 *   - name: route.prefix_affinity
 *     options: { replicas: 160, load_factor: 1.5 }
 * ```
 */
export default definePlugin<PrefixAffinityOptions>({
  id: 'route.prefix_affinity',
  description: 'Same conversation prefix or user → same deployment (KV cache reuse): consistent hashing with bounded loads.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      replicas: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
      load_factor: { type: 'number', minimum: 1, default: 1.25 },
    },
  },
  create(options, deps): Plugin {
    const state = deps.state;
    const replicas = options.replicas ?? 100;
    const loadFactor = options.load_factor ?? 1.25;
    const groups = new Map<string, GroupState>();

    /** The ring starts from the group's deployments as loaded, so it does not depend on which are healthy now. */
    function makeGroup(name: string): GroupState {
      const index = new CandidateIndex(deps.groups.get(name)?.deployments ?? []);
      const group: GroupState = {
        index,
        ring: buildRing(index.universe, replicas),
        member: new Uint32Array(index.size),
        at: new Int32Array(index.size),
        version: 0,
        seen: new Uint32Array(index.size),
        stamp: 0,
      };
      groups.set(name, group);
      return group;
    }

    /** The candidate set changed: mark the new members (placing any deployment new to the group on the ring). */
    function remark(group: GroupState, n: number): void {
      const { index } = group;
      if (group.ring.size < index.size) {
        group.ring = buildRing(index.universe, replicas);
        const member = new Uint32Array(index.size);
        member.set(group.member);
        group.member = member;
        const at = new Int32Array(index.size);
        at.set(group.at);
        group.at = at;
        const seen = new Uint32Array(index.size);
        seen.set(group.seen);
        group.seen = seen;
      }
      if (++group.version === 0xffffffff) {
        group.member.fill(0);
        group.version = 1;
      }
      const { member, at, version } = group;
      const positions = index.positions;
      for (let i = 0; i < n; i++) {
        const owner = positions[i]!;
        member[owner] = version;
        at[owner] = i;
      }
    }

    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const group = groups.get(servedGroup(ctx)) ?? makeGroup(servedGroup(ctx));
        if (group.index.update(candidates)) remark(group, n);
        const { points, owners } = group.ring;
        const { member, at, version, seen } = group;
        const key = affinityHash(ctx.body) ?? (Math.random() * 4_294_967_296) >>> 0;

        // First point at or after the key (wrapping to 0 past the end).
        let lo = 0;
        let hi = points.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (points[mid]! < key) lo = mid + 1;
          else hi = mid;
        }
        if (++group.stamp === 0xffffffff) {
          seen.fill(0);
          group.stamp = 1;
        }
        const stamp = group.stamp;
        // The bound is at least 1, so a deployment with 0 or 1 in flight always qualifies: only sum the
        // in-flight counts when a busier one comes up.
        let bound = -1;
        const total = points.length;
        for (let k = 0, i = lo; k < total; k++, i++) {
          if (i === total) i = 0;
          const owner = owners[i]!;
          if (member[owner] !== version || seen[owner] === stamp) continue;
          seen[owner] = stamp;
          const d = candidates[at[owner]!]!;
          const load = state.inFlight(d.id);
          if (load <= 1) return d;
          if (bound < 0) {
            let sum = 0;
            for (let c = 0; c < n; c++) sum += state.inFlight(candidates[c]!.id);
            bound = Math.ceil((loadFactor * (sum + 1)) / n);
          }
          if (load <= bound) return d;
        }
        // Unreachable: the least loaded candidate is never above the average, hence never above the bound.
        return candidates[0]!;
      },
    };
  },
});
