// undici's Pool and Agent without the rest of undici, loaded on first use. Its index also loads fetch, WebSocket,
// EventSource, the mock agents, the cache stores and every interceptor, ~100 files that Sluice never calls: about
// 3 MB of idle RSS (their source and code stay in the heap). These are the same module instances the index
// exports, so an `instanceof` or an error class from `import … from 'undici'` elsewhere still matches.
//
// Plain-HTTP backends go through the raw client (raw-http1.ts) and health probes through node:http, so a config
// with no https:// backend, no upload and no remote guard never loads undici: about 1.5 MB less idle RSS.

import { createRequire } from 'node:module';
import type { Agent as AgentClass, Pool as PoolClass } from 'undici';

const require = createRequire(import.meta.url);

interface UndiciClasses {
  Pool: typeof PoolClass;
  Agent: typeof AgentClass;
}

let loaded: UndiciClasses | null = null;

function undici(): UndiciClasses {
  if (loaded === null) {
    // The index adds `request()`, `stream()`, `pipeline()`, `connect()` and `upgrade()` to every dispatcher the same way.
    const dispatcherBase: { prototype: object } = require('undici/lib/dispatcher/dispatcher.js');
    Object.assign(dispatcherBase.prototype, require('undici/lib/api/index.js'));
    loaded = { Pool: require('undici/lib/dispatcher/pool.js'), Agent: require('undici/lib/dispatcher/agent.js') };
  }
  return loaded;
}

/**
 * A stand-in for one of undici's classes that loads undici when first constructed or inspected: `new`, `instanceof`,
 * `extends` and reading static members all reach the real class (and so load undici). Calling it without `new`
 * throws, as calling a class does.
 */
function loadedOnUse<K extends keyof UndiciClasses>(name: K): UndiciClasses[K] {
  const stand = function () {} as unknown as UndiciClasses[K];
  Object.defineProperty(stand, 'name', { value: name });
  const proxy: UndiciClasses[K] = new Proxy(stand, {
    // `new Pool()` reaches here with the stand-in as newTarget; a subclass's `new` with the subclass.
    construct: (_stand, args: unknown[], newTarget) => Reflect.construct(undici()[name], args, newTarget === proxy ? undici()[name] : newTarget),
    apply: () => {
      throw new TypeError(`Class constructor ${name} cannot be invoked without 'new'`);
    },
    get: (_stand, key) => Reflect.get(undici()[name], key),
    has: (_stand, key) => Reflect.has(undici()[name], key),
    getPrototypeOf: () => Reflect.getPrototypeOf(undici()[name]),
  });
  return proxy;
}

export const Pool: typeof PoolClass = loadedOnUse('Pool');
export type Pool = PoolClass;
export const Agent: typeof AgentClass = loadedOnUse('Agent');
export type Agent = AgentClass;
