// `--check`'s closing summary: what in the config will not act, from the load warnings, each named once.

export interface NotActing {
  /** Keys (and sections, callbacks, retry classes) loaded but ignored, each once, in order of first mention. */
  readonly ignoredKeys: readonly string[];
  /** Provider prefixes whose deployments are skipped, with how many deployments each. */
  readonly skippedProviders: ReadonlyMap<string, number>;
}

const IGNORED = /^(.+?): (?:("[^"]*") )?not acted on yet; ignored$/;
const UNKNOWN_SECTION = /^(.+?): not a Sluice or LiteLLM section Sluice knows; ignored$/;
const UNKNOWN_CLASS = /^(.+?): an error class Sluice does not know; ignored/;
/** models.ts's warning: one per provider, with how many deployments it skips. */
const SKIPPED_PROVIDER = /provider "([^"]+?)\/?" is not supported yet; its (\d+) deployments? (?:is|are) skipped/;

export function notActing(warnings: readonly string[]): NotActing {
  const ignored = new Set<string>();
  const providers = new Map<string, number>();
  for (const warning of warnings) {
    const provider = SKIPPED_PROVIDER.exec(warning);
    if (provider !== null) {
      providers.set(`${provider[1]}/`, (providers.get(`${provider[1]}/`) ?? 0) + Number(provider[2]));
      continue;
    }
    const key = IGNORED.exec(warning);
    if (key !== null) {
      ignored.add(key[2] === undefined ? key[1]! : `${key[1]} ${key[2]}`);
      continue;
    }
    const other = UNKNOWN_SECTION.exec(warning) ?? UNKNOWN_CLASS.exec(warning);
    if (other !== null) ignored.add(other[1]!);
  }
  return { ignoredKeys: [...ignored], skippedProviders: providers };
}

/** The summary's lines; none when everything acts. */
export function formatNotActing(summary: NotActing): string[] {
  const lines: string[] = [];
  if (summary.ignoredKeys.length === 0 && summary.skippedProviders.size === 0) return lines;
  lines.push('will not act:');
  if (summary.ignoredKeys.length > 0) lines.push(`  ignored keys (${summary.ignoredKeys.length}): ${summary.ignoredKeys.join(', ')}`);
  if (summary.skippedProviders.size > 0) {
    const list = [...summary.skippedProviders].map(([provider, n]) => `${provider} (${n} deployment${n === 1 ? '' : 's'})`);
    lines.push(`  skipped providers (${summary.skippedProviders.size}): ${list.join(', ')}`);
  }
  return lines;
}
