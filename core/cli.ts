// The command line: `node core/main.js --config proxy.yaml [--port N] [--host H] [--check]`.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.ts';
import { formatNotActing, notActing } from './config/check-summary.ts';
import { App, VERSION } from './app.ts';
import { reload, watchConfig } from './reload.ts';
import { listen, type Listening } from './server/listener.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
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
settings, upstream pool settings and redis need a restart (the log names any that changed).`;

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
    const logger = createLogger(config.server.logLevel, config.server.logFormat);
    for (const warning of config.warnings) logger.warn(`config: ${warning}`);
    // SIGHUP's default action is to exit, cutting every stream: from here on it never is, even while starting.
    let listening: Listening | null = null;
    let reloads: Promise<unknown> | null = null;
    if (!args.check) {
      const reloadFor = (reason: string): void => {
        if (listening === null) {
          logger.warn(`${reason}: nothing reloaded: the gateway is still starting`);
          return;
        }
        // One reload at a time: a second one waits for the first, then reads the file as it is then.
        reloads = (reloads ?? Promise.resolve())
          .then(() => reload(gateway, config, listening, logger, reason))
          .catch((error: unknown) => logger.error(`${reason}: reload failed, the running config keeps serving`, { error }));
      };
      process.on('SIGHUP', () => reloadFor('SIGHUP'));
      if (args.watch) watchConfig(config.file, () => reloadFor('config file changed'));
    }
    gateway = await App.create(config, STANDARD_MODULES, logger);
    if (args.check) {
      process.stdout.write(`${config.file}: ok (${gateway.generation.groups.size} model groups, ${gateway.generation.chain.plugins.length} plugins: ${gateway.generation.chain.plugins.map((p) => p.id).join(', ')})\n`);
      // The warnings scroll by in the log; the summary names each part that will not act once, at the end.
      for (const line of formatNotActing(notActing(gateway.generation.warnings))) process.stdout.write(`${line}\n`);
      await gateway.close();
      return 0;
    }
    listening = await listen(gateway, port ?? config.server.port, args.host ?? config.server.host);
    logger.info(`sluice ${VERSION} listening on ${listening.protocol}://${listening.host}:${listening.port}`, {
      config: config.file,
      models: [...gateway.generation.groups.keys()].join(','),
      plugins: gateway.generation.chain.plugins.map((p) => p.id).join(','),
      ...(listening.certificate === null
        ? {}
        : { http2: listening.http2, certificate: listening.certificate.subject, expires: listening.certificate.validTo }),
    });
    if (listening.redirect !== null) {
      logger.info(`redirecting http://${listening.redirect.host}:${listening.redirect.port} to https`);
    }
    const stop = (signal: string): void => {
      logger.info(`${signal}: shutting down, waiting for requests in flight`, { up_to_s: config.server.timeouts.shutdown / 1000 });
      listening.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
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
