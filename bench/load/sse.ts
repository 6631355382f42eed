// The SSE client: waves of concurrent streaming requests, timing every chunk against the simulator's send stamp.

import { Agent, request } from 'node:http';
import { Samples, percentile } from './stats.ts';
import { BENCH_KEY } from './loadgen.ts';

export interface SseSpec {
  readonly url: string;
  readonly model: string;
  /** Streams opened at once in each wave. */
  readonly streams: number;
  /** Waves start until this much time has passed. */
  readonly durationMs: number;
}

export interface SseResult {
  /** Per-chunk delay: arrival at the client minus the simulator's send stamp. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * The same p99 without each stream's first FIRST_CHUNKS chunks: those arrive while the wave's other requests are
   * still being set up, so they carry the proxy's cost per request; the rest carry its cost per chunk.
   */
  readonly laterP99Ms: number;
  /** Time to first byte: request sent to the first body bytes read, per stream. */
  readonly ttfbP50Ms: number;
  readonly chunks: number;
  readonly streamsOk: number;
  /** Non-200 answers, transport errors, and streams that ended without `data: [DONE]`. */
  readonly streamsFailed: number;
}

/** A wave that takes this long is abandoned: at 20 ms per chunk a stream needs about a second. */
const WAVE_TIMEOUT_MS = 30_000;
const STAMP = '"sim_sent_at":';
/** Chunks per stream counted as the stream's start in `laterP99Ms`. */
const FIRST_CHUNKS = 2;

const now = (): number => performance.timeOrigin + performance.now();

export async function runSse(spec: SseSpec): Promise<SseResult> {
  // Connections are kept across waves, as a real client pool would.
  const agent = new Agent({ keepAlive: true, maxSockets: spec.streams });
  const delays = new Samples();
  const laterDelays = new Samples();
  const firstBytes = new Samples();
  const body = JSON.stringify({ model: spec.model, stream: true, messages: [{ role: 'user', content: 'hello' }] });
  let ok = 0;
  let failed = 0;
  const end = Date.now() + spec.durationMs;
  try {
    do {
      const wave = await Promise.all(Array.from({ length: spec.streams }, () => stream(spec.url, body, agent, delays, laterDelays, firstBytes)));
      for (const done of wave) done ? ok++ : failed++;
    } while (Date.now() < end);
  } finally {
    agent.destroy();
  }
  const sorted = delays.toArray();
  const ttfb = firstBytes.toArray();
  return {
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    laterP99Ms: percentile(laterDelays.toArray(), 99),
    ttfbP50Ms: percentile(ttfb, 50),
    chunks: sorted.length,
    streamsOk: ok,
    streamsFailed: failed,
  };
}

/**
 * One streaming request; true when it ended with `[DONE]`. Every stamped chunk's delay goes into `delays`, the time
 * from sending to the first body bytes into `firstBytes`.
 */
function stream(url: string, body: string, agent: Agent, delays: Samples, laterDelays: Samples, firstBytes: Samples): Promise<boolean> {
  return new Promise((resolve) => {
    let sawDone = false;
    let pending = '';
    const sentAt = performance.now();
    let first = true;
    let chunks = 0;
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${BENCH_KEY}` } });
    const timer = setTimeout(() => req.destroy(new Error('wave timeout')), WAVE_TIMEOUT_MS);
    const finish = (result: boolean): void => {
      clearTimeout(timer);
      resolve(result);
    };
    req.on('error', () => finish(false));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return res.on('end', () => finish(false));
      }
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        // One clock reading per read: every event completed by this read arrived now.
        const at = now();
        if (first) {
          first = false;
          firstBytes.push(performance.now() - sentAt);
        }
        pending += text;
        let cut: number;
        while ((cut = pending.indexOf('\n\n')) !== -1) {
          const event = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          const i = event.indexOf(STAMP);
          if (i !== -1) {
            const delay = at - Number.parseFloat(event.slice(i + STAMP.length));
            delays.push(delay);
            if (chunks++ >= FIRST_CHUNKS) laterDelays.push(delay);
          }
          else if (event === 'data: [DONE]') sawDone = true;
        }
      });
      res.on('end', () => finish(sawDone));
      // A cut connection closes without 'end'; after 'end' this is a no-op.
      res.on('close', () => finish(false));
      res.on('error', () => finish(false));
    });
    req.end(body);
  });
}
