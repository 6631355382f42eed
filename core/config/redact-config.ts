// `GET /config`: the running config as loaded (after environment substitution), safe to show to an operator.

import type { LoadedConfig } from './load.ts';
import { redactSecrets, type ModelGroup } from './models.ts';

const MASK = '********';
/** Shorter values are not searched for inside other strings: they would mask ordinary words. */
const MIN_SCRUBBED_LENGTH = 8;

/**
 * Every section with its credentials masked: the fields `redactSecrets` masks (api_key, master_key, password,
 * headers, URL user information...), every value of `environment_variables` (any of them may be a key), and then
 * any known credential value found inside another string (a key pasted into a URL or a header written elsewhere).
 */
export function redactConfig(config: LoadedConfig, groups: ReadonlyMap<string, ModelGroup>): Record<string, unknown> {
  const sections = redactSecrets(config.sections) as Record<string, unknown>;
  const known = new Set<string>();
  const envVars = config.sections['environment_variables'];
  if (typeof envVars === 'object' && envVars !== null && !Array.isArray(envVars)) {
    sections['environment_variables'] = Object.fromEntries(Object.keys(envVars).map((name) => [name, MASK]));
    for (const value of Object.values(envVars)) if (typeof value === 'string') known.add(value);
  }
  for (const group of groups.values()) {
    for (const deployment of group.deployments) for (const secret of deployment.secrets) known.add(secret);
  }
  // Longest first, so a secret that contains another is masked whole.
  const secrets = [...known].filter((s) => s.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
  return secrets.length === 0 ? sections : (scrub(sections, secrets) as Record<string, unknown>);
}

function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, MASK);
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets));
  return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, scrub(field, secrets)]));
}
