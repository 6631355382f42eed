// The deployment files in deploy/: they parse, they say what the docs say, and the Sluice configs they carry load.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig } from '../core/config/load.ts';
import { ROOT } from './helpers.ts';

const DEPLOY = join(ROOT, 'deploy');
const MAIN = join(ROOT, 'core', 'main.js');
const run = promisify(execFile);

type Mapping = Record<string, unknown>;

function read(...parts: string[]): string {
  return readFileSync(join(DEPLOY, ...parts), 'utf8');
}

function asMapping(value: unknown, what: string): Mapping {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${what} is a mapping`);
  return value as Mapping;
}

function asList(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what} is a list`);
  return value;
}

/** Every document of a YAML file, failing on any syntax error; `<<` merges as Compose applies them. */
function yamlDocuments(file: string): Mapping[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  assert.ok(Array.isArray(docs), `${file}: parses`);
  return docs.map((doc, i) => {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${file}: document ${i + 1} parses`);
    return asMapping(doc.toJS(), `${file}: document ${i + 1}`);
  });
}

/** A path inside an object, or undefined. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

// The secrets the configs read; a real start refuses them unset (checked below).
const SECRETS = { SLUICE_MASTER_KEY: 'sk-master-test', SLUICE_DEMO_KEY: 'sk-demo-test', REDIS_PASSWORD: 'redis-test' };

/** `node core/main.js --config <file> --check`, as an operator would run it on the file. */
async function checkConfig(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [MAIN, '--config', file, '--check'], { env: { ...process.env, ...SECRETS }, encoding: 'utf8' });
  return stdout;
}

// ---- Kubernetes ----

const K8S = join(DEPLOY, 'k8s');
const k8sObjects = readdirSync(K8S)
  .filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')
  .flatMap((name) => yamlDocuments(join(K8S, name)).map((object) => ({ file: name, object })));

function k8sObject(kind: string, name: string): Mapping {
  const found = k8sObjects.find(({ object }) => object['kind'] === kind && at(object, 'metadata', 'name') === name);
  assert.ok(found, `a ${kind} named ${name}`);
  return found.object;
}

function container(deployment: Mapping, name: string): Mapping {
  const containers = asList(at(deployment, 'spec', 'template', 'spec', 'containers'), 'containers');
  const found = containers.find((c) => at(c, 'name') === name);
  return asMapping(found, `container ${name}`);
}

const k8sConfigText = String(at(k8sObject('ConfigMap', 'sluice-config'), 'data', 'proxy.yaml'));
const k8sConfig = asMapping(parseYaml(k8sConfigText), 'the ConfigMap proxy.yaml');

test('k8s: every manifest parses, every object has apiVersion, kind and metadata.name, and kustomization lists them all', () => {
  for (const { file, object } of k8sObjects) {
    assert.equal(typeof object['apiVersion'], 'string', `${file}: apiVersion`);
    assert.equal(typeof object['kind'], 'string', `${file}: kind`);
    assert.equal(typeof at(object, 'metadata', 'name'), 'string', `${file}: metadata.name`);
  }
  assert.deepEqual(
    k8sObjects.map(({ object }) => `${String(object['kind'])}/${String(at(object, 'metadata', 'name'))}`).sort(),
    ['ConfigMap/sluice-config', 'Deployment/sluice', 'Deployment/sluice-redis', 'Service/sluice', 'Service/sluice-redis'],
  );
  const [kustomization] = yamlDocuments(join(K8S, 'kustomization.yaml'));
  assert.equal(kustomization!['kind'], 'Kustomization');
  assert.deepEqual(
    asList(kustomization!['resources'], 'resources').map(String).sort(),
    [...new Set(k8sObjects.map(({ file }) => file))].sort(),
  );
});

test('k8s: the Sluice Deployment runs N non-root replicas with probes, limits, the config and the master key Secret', () => {
  const deployment = k8sObject('Deployment', 'sluice');
  assert.ok(Number(at(deployment, 'spec', 'replicas')) >= 2);
  const pod = asMapping(at(deployment, 'spec', 'template', 'spec'), 'pod spec');
  assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true);
  assert.ok(Number(at(pod, 'securityContext', 'runAsUser')) > 0);
  const sluice = container(deployment, 'sluice');
  assert.equal(at(sluice, 'securityContext', 'readOnlyRootFilesystem'), true);
  assert.equal(at(sluice, 'securityContext', 'allowPrivilegeEscalation'), false);
  assert.deepEqual(at(sluice, 'securityContext', 'capabilities', 'drop'), ['ALL']);
  for (const bound of ['requests', 'limits']) {
    assert.ok(at(sluice, 'resources', bound, 'cpu') !== undefined && at(sluice, 'resources', bound, 'memory') !== undefined, `resources.${bound}`);
  }
  assert.equal(at(sluice, 'livenessProbe', 'httpGet', 'path'), '/health/liveliness');
  assert.equal(at(sluice, 'readinessProbe', 'httpGet', 'path'), '/health/readiness');
  assert.equal(at(sluice, 'ports', 0, 'containerPort'), at(k8sConfig, 'server', 'port'));

  // The master key comes from a Secret, under the name the config reads.
  const env = asList(sluice['env'], 'env');
  const masterKey = env.find((e) => at(e, 'name') === 'SLUICE_MASTER_KEY');
  assert.equal(at(masterKey, 'valueFrom', 'secretKeyRef', 'name'), 'sluice-secrets');
  assert.equal(at(k8sConfig, 'general_settings', 'master_key'), 'os.environ/SLUICE_MASTER_KEY');
  assert.equal(at(k8sConfig, 'redis', 'password'), 'os.environ/REDIS_PASSWORD');
  assert.ok(env.some((e) => at(e, 'name') === 'REDIS_PASSWORD' && at(e, 'valueFrom', 'secretKeyRef', 'name') === 'sluice-secrets'));

  // The ConfigMap is mounted where --config points; /tmp is writable (multipart uploads) on a read-only root.
  const args = asList(sluice['args'], 'args').map(String);
  const configPath = args[args.indexOf('--config') + 1];
  const mounts = asList(sluice['volumeMounts'], 'volumeMounts');
  const volumes = asList(pod['volumes'], 'volumes');
  const configMount = mounts.find((m) => configPath?.startsWith(`${String(at(m, 'mountPath'))}/`));
  assert.ok(configMount, `a mount holds ${configPath}`);
  const configVolume = volumes.find((v) => at(v, 'name') === at(configMount, 'name'));
  assert.equal(at(configVolume, 'configMap', 'name'), 'sluice-config');
  assert.ok(mounts.some((m) => at(m, 'mountPath') === '/tmp'));

  // SIGTERM comes after preStop; the grace period covers the pause, Sluice's own shutdown timeout and a margin.
  const preStop = asList(at(sluice, 'lifecycle', 'preStop', 'exec', 'command'), 'preStop command').map(String);
  assert.equal(preStop[0], 'sleep');
  const shutdownSeconds = Number(at(k8sConfig, 'server', 'timeouts', 'shutdown'));
  assert.ok(shutdownSeconds > 0);
  assert.ok(Number(at(pod, 'terminationGracePeriodSeconds')) > Number(preStop[1]) + shutdownSeconds);
});

test('k8s: each Service selects its pods on a port they expose; the config names the Redis Service', () => {
  for (const [service, deployment] of [['sluice', 'sluice'], ['sluice-redis', 'sluice-redis']] as const) {
    const svc = k8sObject('Service', service);
    const dep = k8sObject('Deployment', deployment);
    const podLabels = asMapping(at(dep, 'spec', 'template', 'metadata', 'labels'), 'pod labels');
    for (const [key, value] of Object.entries(asMapping(at(svc, 'spec', 'selector'), 'selector'))) assert.equal(podLabels[key], value);
    const portNames = asList(at(dep, 'spec', 'template', 'spec', 'containers', 0, 'ports'), 'ports').map((p) => at(p, 'name'));
    for (const port of asList(at(svc, 'spec', 'ports'), 'service ports')) assert.ok(portNames.includes(at(port, 'targetPort')), `${service}: targetPort`);
  }
  assert.equal(at(k8sConfig, 'redis', 'host'), 'sluice-redis');
  assert.equal(at(k8sConfig, 'redis', 'port'), at(k8sObject('Service', 'sluice-redis'), 'spec', 'ports', 0, 'port'));
  const redis = container(k8sObject('Deployment', 'sluice-redis'), 'redis');
  assert.ok(asList(redis['args'], 'redis args').includes('--requirepass'));
});

// ---- Compose ----

const COMPOSE = join(DEPLOY, 'compose');
const [compose] = yamlDocuments(join(COMPOSE, 'compose.yaml'));
const services = asMapping(compose!['services'], 'services');
const SLUICE_SERVICES = ['sluice-1', 'sluice-2'];
const composeConfig = asMapping(parseYaml(read('compose', 'proxy.yaml')), 'compose proxy.yaml');

test('compose: two Sluice instances from the Dockerfile with the shared config, Redis, nginx and Prometheus', () => {
  assert.deepEqual(Object.keys(services).sort(), ['nginx', 'prometheus', 'redis', ...SLUICE_SERVICES].sort());
  for (const name of SLUICE_SERVICES) {
    const service = asMapping(services[name], name);
    const context = join(COMPOSE, String(at(service, 'build', 'context')));
    assert.ok(existsSync(join(context, String(at(service, 'build', 'dockerfile')))), `${name}: the Dockerfile exists`);
    const volumes = asList(service['volumes'], `${name} volumes`).map(String);
    assert.ok(volumes.includes('./proxy.yaml:/etc/sluice/proxy.yaml:ro'), `${name}: mounts the config`);
    assert.ok(Number.parseInt(String(service['stop_grace_period']), 10) > Number(at(composeConfig, 'server', 'timeouts', 'shutdown')));
    assert.equal(at(service, 'depends_on', 'redis', 'condition'), 'service_healthy');
    // Metrics are open on the compose network, so the instances publish nothing.
    assert.equal(service['ports'], undefined, `${name}: publishes no port`);
  }
  assert.equal(at(composeConfig, 'redis', 'host'), 'redis');
  const metrics = asList(composeConfig['plugins'], 'plugins').find((p) => at(p, 'name') === 'metrics');
  assert.equal(at(metrics, 'options', 'open'), true);

  const prometheus = yamlDocuments(join(COMPOSE, 'prometheus.yml'))[0]!;
  assert.deepEqual(asList(at(prometheus, 'scrape_configs', 0, 'static_configs', 0, 'targets'), 'targets'), SLUICE_SERVICES.map((s) => `${s}:4000`));
  assert.ok(asList(at(services, 'prometheus', 'volumes'), 'prometheus volumes').includes('./prometheus.yml:/etc/prometheus/prometheus.yml:ro'));

  // nginx balances over both instances and keeps /metrics from clients.
  const nginx = readFileSync(join(COMPOSE, 'nginx.conf'), 'utf8');
  assert.deepEqual([...nginx.matchAll(/^\s*server\s+([\w.-]+:\d+)/gm)].map((m) => m[1]), SLUICE_SERVICES.map((s) => `${s}:4000`));
  assert.match(nginx, /location = \/metrics \{\s*return 404;/);
  assert.match(nginx, /proxy_buffering off;/);
  assert.ok(asList(at(services, 'nginx', 'volumes'), 'nginx volumes').includes('./nginx.conf:/etc/nginx/conf.d/default.conf:ro'));
});

// ---- The Sluice configs the deployments carry ----

test('the k8s ConfigMap and compose configs pass the gateway validation, and refuse to load without the master key', () => {
  for (const [where, text] of [['k8s ConfigMap', k8sConfigText], ['compose proxy.yaml', read('compose', 'proxy.yaml')]] as const) {
    const config = parseConfig(text, `/etc/sluice/${where}.yaml`, { ...SECRETS });
    assert.deepEqual(config.warnings, [], `${where}: loads without warnings`);
    assert.equal(config.server.host, '0.0.0.0', `${where}: listens beyond the container`);
    assert.throws(
      () => parseConfig(text, '/etc/sluice/proxy.yaml', Object.fromEntries(Object.entries(SECRETS).filter(([name]) => name !== 'SLUICE_MASTER_KEY'))),
      (error: unknown) => error instanceof ConfigError && error.errors.some((e) => /master_key: environment variable SLUICE_MASTER_KEY is not set/.test(e)),
    );
  }
});

test('node core/main.js --check accepts the k8s ConfigMap and compose configs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-deploy-'));
  const k8sFile = join(dir, 'proxy.yaml');
  writeFileSync(k8sFile, k8sConfigText);
  const [k8s, composed] = await Promise.all([checkConfig(k8sFile), checkConfig(join(COMPOSE, 'proxy.yaml'))]);
  assert.match(k8s, /: ok \(1 model groups, 6 plugins: auth\.api_key, limit\.key, route\.least_busy, health\.active, metrics, log\.access\)/);
  assert.match(composed, /: ok \(1 model groups, 6 plugins: auth\.api_key, limit\.key, route\.least_busy, health\.active, metrics, log\.access\)/);
});

// ---- Dockerfile ----

test('Dockerfile: Node 24 slim, production dependencies only, a non-root USER, a HEALTHCHECK on the liveness route', () => {
  const lines = read('docker', 'Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const instruction = (name: string): string[] => lines.filter((line) => line.startsWith(`${name} `)).map((line) => line.slice(name.length + 1).trim());
  assert.deepEqual(instruction('FROM'), ['node:24-slim']);
  assert.ok(instruction('RUN').some((run) => run.includes('npm ci --omit=dev')));
  const user = instruction('USER');
  assert.equal(user.length, 1);
  assert.doesNotMatch(user[0]!, /^(root|0)(:|$)/);
  const [healthcheck] = instruction('HEALTHCHECK');
  assert.match(healthcheck ?? '', /CMD .*http:\/\/127\.0\.0\.1:4000\/health\/liveliness/);
  assert.deepEqual(instruction('EXPOSE'), ['4000']);
  assert.deepEqual(JSON.parse(instruction('CMD')[0]!), ['node', 'core/main.js', '--config', '/etc/sluice/proxy.yaml', '--host', '0.0.0.0']);
  // What it copies exists, and is all that runs: no tests, no node_modules from the host.
  for (const copy of instruction('COPY')) {
    for (const source of copy.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(ROOT, source)), `COPY ${source} exists`);
  }
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  assert.equal(ignored.find((l) => l !== '' && !l.startsWith('#')), '*', '.dockerignore starts by leaving everything out');
  assert.ok(!ignored.some((l) => /^!(\.git|node_modules)/.test(l)));
  assert.ok(ignored.includes('**/*.test.ts'));
});

// ---- systemd ----

const UNIT_FILE = join(DEPLOY, 'systemd', 'sluice.service');

/** The unit's [Service] keys; a key written more than once keeps every value, in order. */
function unitSection(section: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const raw of readFileSync(UNIT_FILE, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) current = line;
    else if (current === `[${section}]`) {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return keys;
}

test('systemd unit: a dedicated user, the project Node, reload by SIGHUP, restart on failure, and the hardening keys', () => {
  const service = unitSection('Service');
  const one = (key: string): string => {
    const values = service.get(key);
    assert.equal(values?.length, 1, `${key} is set once`);
    return values[0]!;
  };
  assert.equal(one('User'), 'sluice');
  assert.equal(one('WorkingDirectory'), '/opt/sluice');
  assert.match(one('ExecStart'), /^\/opt\/sluice\/node_modules\/\.bin\/node core\/main\.js --config \/etc\/sluice\/proxy\.yaml$/);
  assert.equal(service.get('ExecReload')?.at(-1), '/bin/kill -HUP $MAINPID');
  assert.equal(one('Restart'), 'on-failure');
  assert.match(one('EnvironmentFile'), /^\/etc\/sluice\//);
  assert.match(one('LimitNOFILE'), /^\d+$/);
  // Longer than server.timeouts.shutdown's default (10 s), so SIGKILL never cuts a graceful stop short.
  assert.ok(Number.parseInt(one('TimeoutStopSec'), 10) > 10);
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.ok(one('ReadWritePaths').split(/\s+/).includes('/var/log/sluice'));
  assert.equal(unitSection('Install').get('WantedBy')?.[0], 'multi-user.target');
});

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test(
  'systemd unit: systemd-analyze verify finds nothing, and its offline security score is OK (skipped only when systemd-analyze is not installed)',
  { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed' },
  () => {
    // verify checks that ExecStart's binary exists: point /opt/sluice at this checkout, which has the project's Node.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-unit-'));
    const unit = join(dir, 'sluice.service');
    writeFileSync(unit, readFileSync(UNIT_FILE, 'utf8').replaceAll('/opt/sluice', ROOT));
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    // verify exits 0 on unknown keys and bad values too, and prints them: the output must be empty.
    assert.equal(`${verify.stdout}${verify.stderr}`, '');
    assert.equal(verify.status, 0);
    // Exposure 0 (locked down) .. 10 (unprotected); --threshold counts tenths, so 20 fails the exit status above 2.0.
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--threshold=20', UNIT_FILE], { encoding: 'utf8' });
    assert.equal(security.status, 0, security.stdout + security.stderr);
    assert.match(security.stdout, /Overall exposure level for sluice\.service: [01]\.\d/);
  },
);
