// The plugin chain: per-phase arrays built once at load, and the runners the request path calls.
//
// A phase no plugin defines is `null`, so the request path skips it without a loop or a call.

import type { RequestContext } from './context.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Deployment, ModelGroup } from '../config/models.ts';
import type { HookResult, Plugin, ResponseBody, StreamStop, UpstreamResponseHead } from './api.ts';
import { PHASES, type Phase } from './phases.ts';
import { isReply, type Reply } from '../http/reply.ts';
import type { EventHook, SseEvent } from './stream-event.ts';

export interface LoadedPlugin {
  readonly id: string;
  readonly plugin: Plugin;
}

export interface Hook<F> {
  readonly id: string;
  readonly fn: F;
}

type RequestHook = Hook<(ctx: RequestContext) => HookResult>;
type FinalHook = Hook<(ctx: RequestContext) => void | Promise<void>>;

/** The hooks of every phase, in chain order; `null` where no plugin defines the phase. */
export type PhaseHooks = { readonly [P in Phase]: readonly Hook<NonNullable<Plugin[P]>>[] | null };

export class Chain {
  readonly plugins: readonly LoadedPlugin[];
  /** Built from the one phase list (`PHASES`): a new phase needs no edit here. */
  readonly hooks: PhaseHooks;
  /** `onResponseEvent` hooks wrapped so a throw ends the stream; non-null means responses get a stream tap. */
  readonly eventHooks: readonly EventHook[] | null;
  /** Some plugin needs `ctx.usage` (token accounting): responses are read for their usage. */
  readonly wantsUsage: boolean;
  readonly #logger: Logger;

  constructor(plugins: readonly LoadedPlugin[], logger: Logger) {
    this.plugins = plugins;
    this.#logger = logger;
    const hooks: Partial<Record<Phase, Hook<unknown>[] | null>> = {};
    for (const phase of PHASES) hooks[phase] = collect(plugins, phase);
    this.hooks = hooks as PhaseHooks;
    const events = this.hooks.onResponseEvent;
    this.eventHooks = events === null ? null : events.map((hook) => guardEventHook(hook));
    this.wantsUsage = plugins.some(({ plugin }) => plugin.wantsUsage === true);
  }

  /** Runs the hooks of one request phase in order until one answers. Stays synchronous while the hooks are. */
  runPhase(hooks: readonly RequestHook[], ctx: RequestContext): Reply | undefined | Promise<Reply | undefined> {
    return runUntilReply(hooks, ctx, undefined, 0);
  }

  /**
   * May model group `group` serve the request instead of `ctx.group` (a fallback)? Only as a direct request to it
   * could: the caller's key must allow the group, and the admit phase, run again with `ctx.group` set to it, must
   * let it through. A refusal (a throw, or a reply, which cannot be sent mid-attempt) leaves `ctx.group` as it was.
   * Stays synchronous when the admit hooks are.
   */
  admitFallback(ctx: RequestContext, group: ModelGroup): boolean | Promise<boolean> {
    const allowed = ctx.auth?.models ?? null;
    if (allowed !== null && !allowed.has(group.name)) return false;
    if (this.hooks.admit === null) return true;
    const previous = ctx.group;
    ctx.group = group;
    const refused = (error: unknown): false => {
      ctx.group = previous;
      if (error !== null) this.#fallbackRefused(ctx, group, error);
      return false;
    };
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = runUntilReply(this.hooks.admit, ctx, undefined, 0);
    } catch (error) {
      return refused(error);
    }
    if (result === undefined) return true;
    if (isReply(result)) return refused(null);
    return result.then((reply) => reply === undefined || refused(null), refused);
  }

  /** The body hooks in order until one answers with a replacement. */
  runBody(ctx: RequestContext, body: ResponseBody): Reply | undefined | Promise<Reply | undefined> {
    return this.hooks.onResponseBody === null ? undefined : runUntilReply(this.hooks.onResponseBody, ctx, body, 0);
  }

  /** Asks the routing plugins in order; the first that returns one of the candidates decides. */
  pickDeployment(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
    if (this.hooks.route !== null) {
      for (const hook of this.hooks.route) {
        let picked: Deployment | undefined;
        try {
          picked = hook.fn(ctx, candidates);
        } catch (error) {
          throw pluginFailure(hook.id, error);
        }
        if (picked !== undefined) return picked;
      }
    }
    return candidates[0]!;
  }

  /** Response-headers hooks; a throw fails the request before anything is written to the client. */
  runHeaders(ctx: RequestContext, head: UpstreamResponseHead): void {
    if (this.hooks.onResponseHeaders === null) return;
    for (const hook of this.hooks.onResponseHeaders) {
      try {
        hook.fn(ctx, head);
      } catch (error) {
        throw pluginFailure(hook.id, error);
      }
    }
  }

  /** Closing hooks: their failures are logged, never sent to the client, and never skip the hooks after them. */
  runFinal(hooks: readonly FinalHook[] | null, ctx: RequestContext): void {
    if (hooks === null) return;
    for (const hook of hooks) {
      try {
        const result = hook.fn(ctx);
        if (result !== undefined) result.catch((error: unknown) => this.#hookFailed(hook.id, ctx, error));
      } catch (error) {
        this.#hookFailed(hook.id, ctx, error);
      }
    }
  }

  runOnError(ctx: RequestContext, error: SluiceError): void {
    if (this.hooks.onError === null) return;
    for (const hook of this.hooks.onError) {
      try {
        hook.fn(ctx, error);
      } catch (failure) {
        this.#hookFailed(hook.id, ctx, failure);
      }
    }
  }

  async close(): Promise<void> {
    for (const { id, plugin } of this.plugins) {
      try {
        await plugin.close?.();
      } catch (error) {
        this.#logger.error('plugin close failed', { plugin: id, error });
      }
    }
  }

  /** A limit refusing a fallback is routine; anything else (a failing plugin, an unreachable store) is worth a line. */
  #fallbackRefused(ctx: RequestContext, group: ModelGroup, error: unknown): void {
    const failure = toSluiceError(error);
    if (failure.status === 429) return;
    this.#logger.warn('fallback group refused by the admit phase', { request: ctx.id, group: group.name, code: failure.code, error: failure.message });
  }

  #hookFailed(id: string, ctx: RequestContext, error: unknown): void {
    this.#logger.error('plugin hook failed', { plugin: id, request: ctx.id, error });
  }
}

/** Calls `hooks[from..]` with `(ctx, arg)` until one returns a reply; goes asynchronous only when a hook does. */
function runUntilReply<A>(
  hooks: readonly Hook<(ctx: RequestContext, arg: A) => HookResult>[],
  ctx: RequestContext,
  arg: A,
  from: number,
): Reply | undefined | Promise<Reply | undefined> {
  for (let i = from; i < hooks.length; i++) {
    const hook = hooks[i]!;
    let result: HookResult;
    try {
      result = hook.fn(ctx, arg);
    } catch (error) {
      throw pluginFailure(hook.id, error);
    }
    if (result === undefined) continue;
    if (isReply(result)) return result;
    if (typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<void | Reply>).then(
        (value) => (value === undefined ? runUntilReply(hooks, ctx, arg, i + 1) : value),
        (error: unknown) => {
          throw pluginFailure(hook.id, error);
        },
      );
    }
  }
  return undefined;
}

function collect<K extends Phase>(plugins: readonly LoadedPlugin[], phase: K): Hook<NonNullable<Plugin[K]>>[] | null {
  const hooks: Hook<NonNullable<Plugin[K]>>[] = [];
  for (const { id, plugin } of plugins) {
    const fn = plugin[phase];
    if (typeof fn === 'function') hooks.push({ id, fn: (fn as (...args: never[]) => unknown).bind(plugin) as NonNullable<Plugin[K]> });
  }
  return hooks.length === 0 ? null : hooks;
}

/** A throwing event hook ends the stream as a plugin failure instead of escaping into undici's callbacks. */
function guardEventHook(hook: Hook<(ctx: RequestContext, event: SseEvent) => void | StreamStop>): EventHook {
  const { id, fn } = hook;
  return (ctx, event) => {
    try {
      return fn(ctx, event);
    } catch (error) {
      return { kind: 'stop', finalEvent: null, error: pluginFailure(id, error), notice: null };
    }
  };
}

function pluginFailure(id: string, error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  const known = toSluiceError(error);
  if (known.code !== 'SLUICE_INTERNAL') return known;
  return new SluiceError('SLUICE_PLUGIN_FAILED', `Plugin "${id}" failed while handling the request.`, { details: { plugin: id }, cause: error });
}
