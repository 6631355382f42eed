// Test helper: a real, throwaway redis-server on a free loopback port (Debian's, from the `redis-server` package).
//
//   const redis = await startRedis();            // standalone, nothing persisted
//   const cluster = await startRedis({ cluster: true });  // a one-node Redis Cluster owning all 16384 slots
//
// The server runs under `setpriv --pdeathsig SIGKILL` where available, so it dies with the test process even if
// that is SIGKILLed; `stop()` SIGKILLs it (a crash, as far as clients can tell) and waits for it to exit.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const SETPRIV = '/usr/bin/setpriv';
const START_TIMEOUT_MS = 10_000;

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGKILLs the server and waits for it to exit; a no-op when it is not running. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (stopping it first if it runs); data does not survive. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay up, nothing is answered until `resume()`. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT); it then answers what queued up meanwhile. */
  resume(): void;
}

export interface StartRedisOptions {
  /** Runs a one-node Redis Cluster (cluster mode on, every slot assigned to this node). */
  cluster?: boolean;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `redis-server not found at ${REDIS_SERVER}: the shared-state tests need a real Redis. ` +
        'Install the Debian package: apt-get install redis-server (or set REDIS_SERVER to its path).',
    );
  }
  installExitHook();
  const dir = options.cluster === true ? mkdtempSync(join(tmpdir(), 'sluice-redis-')) : null;
  let child: ChildProcess | null = null;
  let port = 0;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    if (dir !== null) {
      // A restarted node forgets its slots: a fresh config file each time, slots assigned again below.
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'nodes.conf');
      rmSync(conf, { force: true });
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', conf, '--dir', dir, '--cluster-announce-ip', '127.0.0.1');
    }
    child = spawnServer(args);
    const proc = child;
    const exited = new Promise<string>((resolve) => proc.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`)));
    const output: string[] = [];
    proc.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    try {
      await Promise.race([waitForPing(port), exited.then((why) => Promise.reject(new Error(`redis-server ${why}: ${output.join('').slice(-500)}`)))]);
      if (dir !== null) await assignAllSlots(port);
    } catch (err) {
      await killAndWait(proc);
      throw err;
    }
  };

  // A free port can be taken between probing and binding: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc !== null) await killAndWait(proc);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await stop();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stop();
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}

function spawnServer(args: string[]): ChildProcess {
  const withPdeathsig = existsSync(SETPRIV);
  const child = withPdeathsig
    ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', REDIS_SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  child.stderr?.resume();
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one command (RESP) and returns the raw reply once it is complete (simple, error, integer or bulk). */
export function redisCommand(port: number, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${args[0]} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err === null) resolve(reply);
      else reject(err);
    };
    socket.on('error', finish);
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (data: Buffer) => {
      reply += data.toString('utf8');
      if (replyComplete(reply)) finish(null);
    });
  });
}

function replyComplete(reply: string): boolean {
  const lineEnd = reply.indexOf('\r\n');
  if (lineEnd < 0) return false;
  if (reply[0] !== '$') return true;
  const length = Number(reply.slice(1, lineEnd));
  return length < 0 || Buffer.byteLength(reply) >= lineEnd + 2 + length + 2;
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await redisCommand(port, ['PING'], 500)).startsWith('+PONG')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function assignAllSlots(port: number): Promise<void> {
  const slots = Array.from({ length: 16384 }, (_, i) => String(i));
  const added = await redisCommand(port, ['CLUSTER', 'ADDSLOTS', ...slots]);
  if (!added.startsWith('+OK')) throw new Error(`CLUSTER ADDSLOTS failed: ${added.trim()}`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await redisCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) {
    if (Date.now() > deadline) throw new Error(`redis cluster on port ${port} did not reach cluster_state:ok`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
