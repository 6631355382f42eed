// Child processes for the load benchmark: spawn (optionally pinned to a core), wait until ready, and always stop.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where a binary lives: PATH first, then the sbin directories a non-root PATH often lacks. */
export function findBinary(name: string, extraDirs: readonly string[] = []): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A port the kernel just handed out; another process could take it before we bind, which is unlikely enough. */
export function freePort(): Promise<number> {
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

/** CPU time (user + system) a process has used so far, in seconds, from /proc; NaN where /proc is not readable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True if `promise` settles within `ms`; the timer is cleared either way so it cannot hold the process open. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const TAIL_BYTES = 4000;

/** One child with its recent output kept, so a failure can say why. */
export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<string>;
  #exit: string | null = null;
  #tail = '';

  constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    const keep = (data: Buffer): void => {
      this.#tail = (this.#tail + data.toString('utf8')).slice(-TAIL_BYTES);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      proc.once('error', (error) => {
        this.#exit = `spawn error: ${error.message}`;
        resolve(this.#exit);
      });
      proc.once('exit', (code, signal) => {
        this.#exit = code !== null ? `exit code ${code}` : `signal ${signal ?? '?'}`;
        resolve(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === null;
  }

  get exitReason(): string | null {
    return this.#exit;
  }

  get output(): string {
    return this.#tail.trim();
  }
}

export interface ToolRun {
  readonly ok: boolean;
  /** How it ended: `exit code N`, `signal S` or a spawn error. */
  readonly exit: string;
  readonly stdout: string;
  /** The last few KB of stdout and stderr together. */
  readonly output: string;
}

/** Every child the benchmark started, so one call (or the exit handler) stops them all. */
export class Processes {
  readonly #children: Child[] = [];
  readonly pin: boolean;

  constructor(pin: boolean) {
    this.pin = pin;
  }

  /** Starts `command` on `core` (via taskset) when pinning is available. */
  start(name: string, command: string, args: readonly string[], core: 0 | 1, cwd: string): Child {
    const [file, argv] = this.pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, [...args]];
    const proc = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = new Child(name, proc);
    this.#children.push(child);
    return child;
  }

  /** Runs a tool (load generator) to completion, pinned like a service; killed if it outlives `timeoutMs`. */
  async run(name: string, command: string, args: readonly string[], core: 0 | 1, cwd: string, timeoutMs: number): Promise<ToolRun> {
    const child = this.start(name, command, args, core, cwd);
    let stdout = '';
    child.proc.stdout?.on('data', (data: Buffer) => {
      stdout += data.toString('utf8');
    });
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
    const exit = await child.exited;
    clearTimeout(timer);
    this.#children.splice(this.#children.indexOf(child), 1);
    return { ok: exit === 'exit code 0', exit, stdout, output: child.output };
  }

  /** The first service that died on its own, if any. */
  firstDead(): Child | undefined {
    return this.#children.find((c) => !c.running);
  }

  /** SIGTERM, then SIGKILL whatever is still there after `graceMs`; returns the names of those killed. */
  async stopAll(graceMs = 5000): Promise<string[]> {
    const live = this.#children.filter((c) => c.running);
    for (const c of live) c.proc.kill('SIGTERM');
    const all = Promise.all(live.map((c) => c.exited));
    if (await within(all, graceMs)) return [];
    const stuck = live.filter((c) => c.running);
    for (const c of stuck) c.proc.kill('SIGKILL');
    await within(all, 1000);
    return stuck.map((c) => c.name);
  }

  /** Last resort from a synchronous 'exit' handler: nothing can be awaited there. */
  killAllNow(): void {
    for (const c of this.#children) if (c.running) c.proc.kill('SIGKILL');
  }
}

/** Pins this process (all its threads) to `core`; false when taskset failed. */
export function pinSelf(core: 0 | 1): boolean {
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore', timeout: 5000 });
  return result.status === 0;
}

/** Resolves once `child` prints a line matching `pattern` (on stdout or stderr). */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (data: Buffer): void => {
      seen = (seen + data.toString('utf8')).slice(-TAIL_BYTES);
      if (pattern.test(seen)) finish(null);
    };
    const timer = setTimeout(() => finish(new Error(`${child.name} did not print ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | null): void => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.stderr?.off('data', onData);
      if (error === null) resolve();
      else reject(error);
    };
    child.proc.stdout?.on('data', onData);
    child.proc.stderr?.on('data', onData);
    void child.exited.then((why) => finish(new Error(`${child.name} exited before it was ready (${why})`)));
  });
}

/** Polls `url` with GET until it answers below 500; fails early if the child dies, or after `timeoutMs`. */
export async function waitForHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running) throw new Error(`${child.name} exited before it was ready (${child.exitReason ?? '?'})`);
    if ((await httpStatus(url, 1000)) < 500) return;
    await sleep(50);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms`);
}

/** The status of a GET, or 599 when it cannot connect or takes longer than `timeoutMs`. */
function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 599);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(599));
    req.end();
  });
}
