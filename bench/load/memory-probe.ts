// Loaded into the gateway by the soak benchmark only (`node --import bench/load/memory-probe.ts`): every
// SLUICE_MEMORY_PROBE_MS it prints one `SLUICE_MEMORY {...}` line on stderr with the process's memory. With
// `--expose-gc` it collects first, so heapUsed is what is retained rather than garbage not yet collected.

const intervalMs = Number(process.env['SLUICE_MEMORY_PROBE_MS'] ?? '5000');
const collect = (globalThis as { gc?: () => void }).gc;

if (Number.isFinite(intervalMs) && intervalMs > 0) {
  setInterval(() => {
    collect?.();
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.stderr.write(`SLUICE_MEMORY ${JSON.stringify({ at: Date.now(), rss, heapTotal, heapUsed, external, arrayBuffers })}\n`);
  }, intervalMs).unref();
}
