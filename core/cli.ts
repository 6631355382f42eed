// The command line: `node core/main.js --config proxy.yaml [--port N] [--host H] [--check]`.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.ts';
import { formatNotActing, notActing } from './config/check-summary.ts';
import type { App } from './app.ts';
import { VERSION } from './server/info-routes.ts';
import cluster from 'node:cluster';
import { reload, watchConfig, type ReloadOutcome } from './reload.ts';
import { runPrimary } from './workers/primary.ts';
import { primaryLink, workerLogger } from './workers/worker.ts';
import type { Listening } from './server/listener.ts';
import { createLogger } from './logger.ts';

const USAGE = `Sluice ${VERSION}: an LLM gateway (OpenAI-compatible) on raw Node streams.

Usage: node core/main.js --config <file.yaml> [--port N] [--host ADDR] [--watch] [--check]

  -c, --config   config file (Sluice's sections plus LiteLLM's model_list); default ./proxy.yaml
  -p, --port     listen port; overrides server.port (default 4000)
      --host     listen address; overrides server.host (default 0.0.0.0)
  -w, --watch    reload the config when its file changes, as SIGHUP does
  -t, --check    validate the config and plugins, print every problem, exit 1 if any (like nginx -t)
  -h, --help     this text
  -v, --version  print the version

Signals: SIGTERM and SIGINT stop gracefully (server.timeouts.shutdown). SIGHUP reloads the config file (and
with server.tls the certificate, key and CA): new requests use it, requests in flight finish on the old one; a
config with errors is refused and the running one keeps serving. The listener's address, TLS file paths, log
settings, upstream pool settings, server.workers and redis need a restart (the log names any that changed).

With server.workers > 1 this process is the primary: it starts the workers on one port, restarts one that dies,
and passes the signals on (SIGHUP reloads every worker, SIGTERM stops them gracefully).`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', default: 'proxy.yaml' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        check: { type: 'boolean', short: 't', default: false },
        watch: { type: 'boolean', short: 'w', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (args.version) {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const port = args.port === undefined ? undefined : Number(args.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`--port: "${args.port}" is not a port number\n`);
    return 2;
  }

  let gateway: App;
  const bootLogger = createLogger('info');
  try {
    const config = loadConfig(args.config);
    let logger = createLogger(config.server.logLevel, config.server.logFormat);
    // server.workers > 1: this process is the primary (it starts the workers, which run this file too) or a worker.
    if (!args.check && cluster.isPrimary && config.server.workers > 1) {
      for (const warning of config.warnings) logger.warn(`config: ${warning}`);
      runPrimary({ config, logger, workers: config.server.workers, watch: args.watch }).then((code) => process.exit(code));
      return -1;
    }
    // Only a process that serves loads the engine and the plugins: the primary stays small.
    const [{ App }, { listen }, { STANDARD_MODULES }] = await Promise.all([import('./app.ts'), import('./server/listener.ts'), import('../plugins/standard.ts')]);
    const primary = primaryLink();
    if (primary !== null) logger = workerLogger(logger, primary.index);
    // The primary has logged the config's warnings once; N workers need not repeat them.
    if (primary === null) for (const warning of config.warnings) logger.warn(`config: ${warning}`);
    // SIGHUP's default action is to exit, cutting every stream: from here on it never is, even while starting.
    let listening: Listening | null = null;
    let reloads: Promise<unknown> = Promise.resolve();
    const reloadFor = (reason: string): Promise<ReloadOutcome> => {
      if (listening === null) {
        logger.warn(`${reason}: nothing reloaded: the gateway is still starting`);
        return Promise.resolve({ ok: false, errors: ['the gateway is still starting'] });
      }
      // One reload at a time: a second one waits for the first, then reads the file as it is then.
      const outcome = reloads.then(() => reload(gateway, config, listening, logger, reason));
      reloads = outcome.catch((error: unknown) => logger.error(`${reason}: reload failed, the running config keeps serving`, { error }));
      return outcome;
    };
    if (!args.check) {
      process.on('SIGHUP', () => void reloadFor('SIGHUP').catch(() => {}));
      // With workers, the primary watches the file and asks every worker.
      if (args.watch && primary === null) watchConfig(config.file, () => void reloadFor('config file changed').catch(() => {}));
      primary?.onReload(reloadFor);
    }
    gateway = await App.create(config, STANDARD_MODULES, logger);
    if (args.check) {
      process.stdout.write(`${config.file}: ok (${gateway.generation.groups.size} model groups, ${gateway.generation.chain.plugins.length} plugins: ${gateway.generation.chain.plugins.map((p) => p.id).join(', ')})\n`);
      // The warnings scroll by in the log; the summary names each part that will not act once, at the end.
      for (const line of formatNotActing(notActing(gateway.generation.warnings))) process.stdout.write(`${line}\n`);
      await gateway.close();
      return 0;
    }
    const live = await listen(gateway, port ?? config.server.port, args.host ?? config.server.host);
    listening = live;
    logger.info(`sluice ${VERSION} listening on ${live.protocol}://${live.host}:${live.port}`, {
      config: config.file,
      models: [...gateway.generation.groups.keys()].join(','),
      plugins: gateway.generation.chain.plugins.map((p) => p.id).join(','),
      ...(primary === null ? {} : { pid: process.pid }),
      ...(live.certificate === null
        ? {}
        : { http2: live.http2, certificate: live.certificate.subject, expires: live.certificate.validTo }),
    });
    if (live.redirect !== null) {
      logger.info(`redirecting http://${live.redirect.host}:${live.redirect.port} to https`);
    }
    primary?.listening(`${live.protocol}://${live.host}:${live.port}`);
    let stopping = false;
    const stop = (signal: string): void => {
      // A worker may get both the primary's SIGTERM and a terminal's SIGINT: one shutdown.
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: shutting down, waiting for requests in flight`, { up_to_s: config.server.timeouts.shutdown / 1000 });
      live.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return -1;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    bootLogger.error('failed to start', { error: (error as Error).stack ?? String(error) });
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
// A worker that could not start: its channel to the primary would keep it alive, and the primary waits for its exit.
if (code >= 0 && cluster.isWorker) process.exit(code);
