// The `teams:` section: LiteLLM's team budgets (`max_budget`, `soft_budget`, `budget_duration` on a team), shared by
// every key whose `metadata.team_id` names the team. LiteLLM keeps teams in its database; Sluice reads them from
// the config, as it reads keys.
//
// ```yaml
// teams:
//   - team_id: t1
//     team_alias: Team A
//     max_budget: 100        # USD, for all the team's keys together
//     budget_duration: 30d
//     soft_budget: 80
// ```

import type { KeyBudget } from '../../core/plugin/api.ts';
import { parseDuration } from './cost.ts';

export interface Team {
  readonly id: string;
  readonly alias: string | null;
  readonly budget: KeyBudget;
}

const FIELDS = new Set(['team_id', 'team_alias', 'max_budget', 'soft_budget', 'budget_duration']);

/** The teams by id. Throws one Error naming every problem (the load then fails with them). */
export function parseTeams(section: unknown): Map<string, Team> {
  const teams = new Map<string, Team>();
  if (section === undefined || section === null) return teams;
  if (!Array.isArray(section)) throw new Error('teams: must be a list of teams (team_id, team_alias, max_budget, soft_budget, budget_duration)');
  const errors: string[] = [];
  section.forEach((entry: unknown, i) => {
    const at = `teams[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return void errors.push(`${at}: must be a mapping`);
    const team = entry as Record<string, unknown>;
    for (const key of Object.keys(team)) {
      if (!FIELDS.has(key)) errors.push(`${at}.${key}: not a team field Sluice knows (${[...FIELDS].join(', ')})`);
    }
    const id = team['team_id'];
    if (typeof id !== 'string' || id === '') return void errors.push(`${at}.team_id: must be a non-empty string`);
    if (teams.has(id)) return void errors.push(`${at}.team_id: "${id}" is listed twice`);
    const alias = team['team_alias'];
    if (alias !== undefined && typeof alias !== 'string') errors.push(`${at}.team_alias: must be a string`);
    const amount = (key: 'max_budget' | 'soft_budget'): number | null => {
      const value = team[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        errors.push(`${at}.${key}: must be a number of USD, 0 or more`);
        return null;
      }
      return value;
    };
    const max = amount('max_budget');
    const soft = amount('soft_budget');
    let duration: string | null = null;
    const rawDuration = team['budget_duration'];
    if (rawDuration !== undefined && rawDuration !== null) {
      try {
        parseDuration(String(rawDuration));
        duration = String(rawDuration);
      } catch (error) {
        errors.push(`${at}: ${(error as Error).message}`);
      }
    }
    teams.set(id, { id, alias: typeof alias === 'string' ? alias : null, budget: { max, soft, duration } });
  });
  if (errors.length > 0) throw new Error(errors.join('; '));
  return teams;
}
