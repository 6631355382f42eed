// undici's Pool and Agent without the rest of undici. Its index also loads fetch, WebSocket, EventSource, the mock
// agents, the cache stores and every interceptor, ~100 files that Sluice never calls: about 3 MB of idle RSS (their
// source and code stay in the heap). These are the same module instances the index exports, so an `instanceof`
// or an error class from `import … from 'undici'` elsewhere still matches.

import { createRequire } from 'node:module';
import type { Agent as AgentClass, Pool as PoolClass } from 'undici';

const require = createRequire(import.meta.url);

// The index adds `request()`, `stream()`, `pipeline()`, `connect()` and `upgrade()` to every dispatcher the same way.
const dispatcherBase: { prototype: object } = require('undici/lib/dispatcher/dispatcher.js');
Object.assign(dispatcherBase.prototype, require('undici/lib/api/index.js'));

export const Pool: typeof PoolClass = require('undici/lib/dispatcher/pool.js');
export type Pool = PoolClass;
export const Agent: typeof AgentClass = require('undici/lib/dispatcher/agent.js');
export type Agent = AgentClass;
