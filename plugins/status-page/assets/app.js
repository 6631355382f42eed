// Sluice status page: polls /ui/api/status and redraws. Text goes in through textContent only, never as HTML.
'use strict';

(() => {
  const STATUS_URL = '/ui/api/status';
  let refreshMs = 3000;
  let lastOk = 0;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  /** One table cell; `label` is what a phone shows beside the value (the column's heading). */
  function cell(label, content, className, field) {
    const td = el('td', undefined, className);
    td.dataset.label = label;
    if (field) td.dataset.field = field;
    if (content instanceof Node) td.append(content);
    else td.textContent = content === null || content === undefined ? '—' : String(content);
    return td;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  const number = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en'));
  const usd = (n) => (n === null || n === undefined ? '—' : '$' + Number(n).toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2));

  function ago(iso, now) {
    if (!iso) return '';
    const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  }

  function renderSummary(data) {
    const t = data.totals;
    const tiles = [
      ['Healthy', t.healthy + ' / ' + t.deployments],
      ['In flight', number(t.in_flight)],
      ['Requests / min', number(t.requests_per_minute)],
      ['Errors / min', number(t.errors_per_minute)],
      ['Requests', number(t.requests)],
      ['Errors', number(t.errors)],
    ];
    $('summary').replaceChildren(
      ...tiles.map(([name, value], i) => {
        const div = el('div');
        div.append(el('dt', name), el('dd', value));
        // The first tile turns red while any deployment is out of rotation.
        if (i === 0 && t.healthy < t.deployments) div.className = 'alert';
        return div;
      }),
    );
  }

  function renderDeployments(data, now) {
    fill(
      $('deployments').tBodies[0],
      data.deployments.map((d) => {
        const tr = el('tr');
        tr.dataset.deployment = d.id;
        tr.dataset.status = d.status;
        const who = el('span');
        who.append(el('code', d.id), el('br'), el('span', d.model + ' · ' + d.api_base, 'muted'));
        const badge = el('span', d.status === 'cooldown' ? 'cooldown ' + d.cooldown_remaining_s + ' s' : d.status, 'badge ' + d.status);
        const lastError = d.last_error ? d.last_error + ' (' + ago(d.last_error_at, now) + ')' : null;
        tr.append(
          cell('Model group', d.model_name),
          cell('Deployment', who, 'wrap'),
          cell('Status', badge, undefined, 'status'),
          cell('In flight', number(d.in_flight), 'num', 'in_flight'),
          cell('Latency', d.latency_ms === null ? '—' : number(d.latency_ms) + ' ms', 'num', 'latency'),
          cell('Requests / min', number(d.requests_per_minute), 'num', 'requests_per_minute'),
          cell('Errors / min', number(d.errors_per_minute), 'num', 'errors_per_minute'),
          cell('Requests', number(d.requests), 'num', 'requests'),
          cell('Errors', number(d.errors), 'num', 'errors'),
          cell('Last error', lastError, 'wrap', 'last_error'),
        );
        return tr;
      }),
    );
  }

  function limits(k) {
    const parts = [];
    if (k.rpm_limit !== null) parts.push(number(k.rpm_limit) + ' rpm');
    if (k.tpm_limit !== null) parts.push(number(k.tpm_limit) + ' tpm');
    if (k.max_parallel_requests !== null) parts.push(number(k.max_parallel_requests) + ' parallel');
    return parts.length === 0 ? 'none' : parts.join(', ');
  }

  function budget(k) {
    if (k.max_budget === null && k.soft_budget === null) return 'none';
    const parts = [];
    if (k.max_budget !== null) parts.push('max ' + usd(k.max_budget));
    if (k.soft_budget !== null) parts.push('soft ' + usd(k.soft_budget));
    if (k.budget_duration !== null) parts.push('per ' + k.budget_duration);
    if (k.budget_remaining !== null) parts.push(usd(k.budget_remaining) + ' left');
    return parts.join(', ');
  }

  function renderKeys(data) {
    fill(
      $('keys').tBodies[0],
      data.keys.map((k) => {
        const tr = el('tr');
        tr.dataset.key = k.key;
        tr.append(
          cell('Key', el('code', k.key)),
          cell('Models', k.models === null ? 'all' : k.models.join(', '), 'wrap'),
          cell('Requests / min', number(k.requests_per_minute), 'num', 'requests_per_minute'),
          cell('Errors / min', number(k.errors_per_minute), 'num', 'errors_per_minute'),
          cell('Tokens / min', number(k.tokens_per_minute), 'num', 'tokens_per_minute'),
          cell('Requests', number(k.requests), 'num', 'requests'),
          cell('Spend (USD)', usd(k.spend), 'num', 'spend'),
          cell('Budget', budget(k), 'wrap', 'budget'),
          cell('Limits', limits(k), 'wrap', 'limits'),
        );
        return tr;
      }),
    );
  }

  function renderErrors(data, now) {
    $('no-errors').hidden = data.recent_errors.length > 0;
    $('errors').hidden = data.recent_errors.length === 0;
    fill(
      $('errors').tBodies[0],
      data.recent_errors.map((e) => {
        const tr = el('tr');
        tr.dataset.requestId = e.request_id;
        tr.append(
          cell('Time', ago(e.at, now)),
          cell('Status', e.status, 'num', 'status'),
          cell('Code', e.code, undefined, 'code'),
          cell('Model', e.model || null),
          cell('Deployment', e.deployment),
          cell('Key', e.key),
          cell('Message', e.message, 'wrap'),
        );
        return tr;
      }),
    );
  }

  let shownConfig = '';
  function renderConfig(data) {
    if (data.config === null) {
      $('config').textContent = 'Not available.';
      return;
    }
    $('config-file').textContent = 'File: ' + data.config.file;
    const text = JSON.stringify(data.config.sections, null, 2);
    // Rewritten only when it changed, so a reader's scroll position and selection survive a refresh.
    if (text !== shownConfig) {
      shownConfig = text;
      $('config').textContent = text;
    }
  }

  function render(data) {
    const now = Date.parse(data.generated_at);
    renderSummary(data);
    renderDeployments(data, now);
    renderKeys(data);
    renderErrors(data, now);
    renderConfig(data);
  }

  async function refresh() {
    try {
      const res = await fetch(STATUS_URL, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
      if (res.status === 401) {
        // The session ended (expired, signed out elsewhere, the master key changed): back to the sign-in form.
        window.location.assign('/ui');
        return;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const data = await res.json();
      render(data);
      refreshMs = data.refresh_ms || refreshMs;
      lastOk = Date.now();
      document.body.classList.remove('stale');
      $('updated').textContent = 'Last updated ' + new Date(data.generated_at).toLocaleTimeString();
      $('updated').dataset.generatedAt = data.generated_at;
    } catch (error) {
      document.body.classList.add('stale');
      const since = lastOk === 0 ? '' : ' Last updated ' + new Date(lastOk).toLocaleTimeString() + '.';
      $('updated').textContent = 'Cannot reach the gateway (' + error.message + ').' + since;
    }
    setTimeout(refresh, document.hidden ? Math.max(refreshMs, 15000) : refreshMs);
  }

  refresh();
})();
