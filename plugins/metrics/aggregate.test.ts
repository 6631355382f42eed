// Merging the expositions of worker processes: counters and histograms summed, gauges by their meaning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeExpositions } from './aggregate.ts';

const worker = (requests: number, bucket: number, inFlight: number, state: number, remaining: number, started: number): string => `# HELP litellm_proxy_total_requests_metric_total Total number of requests
# TYPE litellm_proxy_total_requests_metric_total counter
litellm_proxy_total_requests_metric_total{requested_model="m",route="/v1/chat/completions"} ${requests}

# HELP litellm_request_total_latency_metric Total latency
# TYPE litellm_request_total_latency_metric histogram
litellm_request_total_latency_metric_bucket{le="0.5",model="m"} ${bucket}
litellm_request_total_latency_metric_bucket{le="+Inf",model="m"} ${requests}
litellm_request_total_latency_metric_sum{model="m"} ${requests / 4}
litellm_request_total_latency_metric_count{model="m"} ${requests}

# HELP sluice_requests_in_flight Requests in flight
# TYPE sluice_requests_in_flight gauge
sluice_requests_in_flight ${inFlight}

# HELP litellm_deployment_state 0 healthy, 1 cooldown, 2 unhealthy
# TYPE litellm_deployment_state gauge
litellm_deployment_state{model_id="a",api_base="http://x/{v1}"} ${state}

# HELP litellm_remaining_requests_metric remaining requests
# TYPE litellm_remaining_requests_metric gauge
litellm_remaining_requests_metric{model_id="a"} ${remaining}

# HELP process_start_time_seconds Start time
# TYPE process_start_time_seconds gauge
process_start_time_seconds ${started}
`;

test('counters and histograms are summed per label set; gauges by meaning: in flight summed, state the worst, remaining the least, start the earliest', () => {
  const merged = mergeExpositions([worker(10, 7, 2, 0, 90, 1000), worker(5, 1, 3, 1, 40, 1001)]);
  const value = (sample: string): string => {
    const line = merged.split('\n').find((l) => l.startsWith(sample + ' '));
    assert.ok(line !== undefined, `${sample} in\n${merged}`);
    return line.slice(sample.length + 1);
  };
  assert.equal(value('litellm_proxy_total_requests_metric_total{requested_model="m",route="/v1/chat/completions"}'), '15');
  assert.equal(value('litellm_request_total_latency_metric_bucket{le="0.5",model="m"}'), '8');
  assert.equal(value('litellm_request_total_latency_metric_bucket{le="+Inf",model="m"}'), '15');
  assert.equal(value('litellm_request_total_latency_metric_sum{model="m"}'), '3.75');
  assert.equal(value('litellm_request_total_latency_metric_count{model="m"}'), '15');
  assert.equal(value('sluice_requests_in_flight'), '5');
  assert.equal(value('litellm_deployment_state{model_id="a",api_base="http://x/{v1}"}'), '1');
  assert.equal(value('litellm_remaining_requests_metric{model_id="a"}'), '40');
  assert.equal(value('process_start_time_seconds'), '1000');
  // Each family once, its HELP and TYPE before its samples.
  assert.equal(merged.match(/# TYPE litellm_request_total_latency_metric histogram/g)?.length, 1);
  assert.ok(merged.indexOf('# TYPE sluice_requests_in_flight gauge') < merged.indexOf('sluice_requests_in_flight 5'));
});

test('a label set only one worker has is kept as it is; one exposition merges to itself', () => {
  const one = `# HELP c_total c\n# TYPE c_total counter\nc_total{k="a"} 1\n`;
  const two = `# HELP c_total c\n# TYPE c_total counter\nc_total{k="b"} 2\nc_total{k="a"} 3\n`;
  assert.equal(mergeExpositions([one, two]), '# HELP c_total c\n# TYPE c_total counter\nc_total{k="a"} 4\nc_total{k="b"} 2\n');
  assert.equal(mergeExpositions([two]), two);
});

test('budget gauges are not summed: a budget is the largest any worker reports, what is left the least', () => {
  const budgets = (max: number, left: number): string => `# HELP litellm_team_max_budget_metric Maximum budget set for team
# TYPE litellm_team_max_budget_metric gauge
litellm_team_max_budget_metric{team="t",team_alias="a"} ${max}

# HELP litellm_remaining_team_budget_metric Remaining budget for team
# TYPE litellm_remaining_team_budget_metric gauge
litellm_remaining_team_budget_metric{team="t",team_alias="a"} ${left}

# HELP litellm_api_key_max_budget_metric Maximum budget set for api key
# TYPE litellm_api_key_max_budget_metric gauge
litellm_api_key_max_budget_metric{hashed_api_key="h",api_key_alias="k"} ${max}

# HELP litellm_remaining_api_key_budget_metric Remaining budget for api key
# TYPE litellm_remaining_api_key_budget_metric gauge
litellm_remaining_api_key_budget_metric{hashed_api_key="h",api_key_alias="k"} ${left}
`;
  const merged = mergeExpositions([budgets(10, 7.5), budgets(10, 7.25)]);
  assert.match(merged, /^litellm_team_max_budget_metric\{team="t",team_alias="a"\} 10$/m);
  assert.match(merged, /^litellm_remaining_team_budget_metric\{team="t",team_alias="a"\} 7\.25$/m);
  assert.match(merged, /^litellm_api_key_max_budget_metric\{hashed_api_key="h",api_key_alias="k"\} 10$/m);
  assert.match(merged, /^litellm_remaining_api_key_budget_metric\{hashed_api_key="h",api_key_alias="k"\} 7\.25$/m);
});
