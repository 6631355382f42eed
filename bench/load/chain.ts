// The chain `npm run bench:load` measures Sluice with, shared with `bench/ab-cpu.ts`.

import { BENCH_KEY } from './loadgen.ts';

export const MASTER_KEY = 'sk-bench-master-0123456789';

/**
 * Issue 16's chain: master key, a virtual key with rpm, tpm and concurrency limits (never reached: every request is
 * counted, none refused), least-busy, active health checks (every 10 s, as LiteLLM's default interval would be set)
 * and the metrics plugin. Written as a `plugins:` list so the order is the documented one.
 */
export const FULL_CHAIN_SECTIONS =
  `general_settings: { master_key: ${MASTER_KEY} }\n` +
  `keys: [{ key: ${BENCH_KEY}, alias: bench, rpm: 1000000000, tpm: 1000000000000, max_parallel_requests: 100000 }]\n` +
  'plugins:\n' +
  '  - auth.api_key\n' +
  '  - limit.key\n' +
  '  - route.least_busy\n' +
  '  - { name: health.active, options: { interval: 10 } }\n' +
  '  - metrics\n';

