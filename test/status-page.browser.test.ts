// The status page in a real browser: Debian's Chromium driven by playwright-core against a real gateway with two
// simulator backends. Sign in (a wrong key first), see both deployments healthy, send a request with the openai
// client and see it counted, stop a backend and see its deployment go unhealthy, and read the page at phone width.
// Every wait is "until the page shows it", with only a generous hang guard. Screenshots are taken only when
// SLUICE_UI_SCREENSHOTS names a directory (never the repo's): `SLUICE_UI_SCREENSHOTS=$(mktemp -d) node --test ...`.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type TestGateway } from './helpers.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

// The functions handed to page.evaluate and waitForFunction run in the page, where these exist. The project's
// TypeScript has no DOM library, so the few names they use are declared here, for this file only.
interface PageElement {
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  readonly cookie: string;
  readonly documentElement: { readonly scrollWidth: number };
};
declare const window: { readonly innerWidth: number };
declare function getComputedStyle(element: PageElement, pseudo?: string): { readonly display: string; readonly content: string };

const CHROMIUM = '/usr/bin/chromium';
const MASTER = 'sk-master-browser-0123456789';
/** Only a hang guard: far above what a busy machine needs for a page to show a change. */
const HANG_GUARD_MS = 60_000;
const SCREENSHOTS = process.env['SLUICE_UI_SCREENSHOTS'] ?? null;

/** The text of one cell of a deployment's row (`data-field`), or null while the row is not there. */
function cellText(page: Page, deployment: string, field: string): Promise<string | null> {
  return page.evaluate(([id, name]) => document.querySelector(`tr[data-deployment="${id}"] [data-field="${name}"]`)?.textContent ?? null, [deployment, field] as const);
}

async function waitForCell(page: Page, deployment: string, field: string, expected: string): Promise<void> {
  await page.waitForFunction(
    ([id, name, want]) => document.querySelector(`tr[data-deployment="${id}"] [data-field="${name}"]`)?.textContent === want,
    [deployment, field, expected] as const,
    { timeout: HANG_GUARD_MS, polling: 50 },
  );
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS === null) return;
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

describe('status page in Chromium', () => {
  let alpha: Sim;
  let beta: Sim;
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Script errors and console errors (a Content-Security-Policy violation is one). */
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is not installed: apt-get install chromium (.ci/run does)`);
    alpha = await startOpenAISim();
    beta = await startOpenAISim();
    // Probes every 0.2 s, so a stopped backend shows as unhealthy soon after (refused at once: the generous timeout
    // only keeps a slow machine from failing the live one); the page refreshes every 0.5 s.
    gw = await startGateway(`
general_settings: { master_key: ${MASTER} }
router_settings: { health_check_interval: 0.2, health_check_timeout: 10, num_retries: 0 }
plugins:
  - auth.api_key
  - route.round_robin
  - health.active
  - { name: status_page, options: { refresh_seconds: 0.5 } }
model_list:
  - { model_name: chat, litellm_params: { model: openai/sim, api_base: ${alpha.url}/v1, api_key: sk-alpha }, model_info: { id: alpha } }
  - { model_name: chat, litellm_params: { model: openai/sim, api_base: ${beta.url}/v1, api_key: sk-beta }, model_info: { id: beta } }
`);
    // launch() gives the browser a fresh profile in a temporary directory of its own, removed on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: HANG_GUARD_MS,
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(HANG_GUARD_MS);
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      // The sign-in form is answered with 401 on purpose; Chromium logs every such answer.
      if (message.type() === 'error' && !/status of 401 \(Unauthorized\)/.test(message.text())) pageErrors.push(`console: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await gw?.close();
    await alpha?.close();
    await beta?.close();
  });

  test('a wrong key gets the sign-in form again with an error', async () => {
    const first = await page.goto(`${gw.url}/ui`);
    assert.equal(first?.status(), 401);
    await page.fill('#key', 'sk-not-the-master-key');
    await Promise.all([page.waitForURL(`${gw.url}/ui/login`), page.click('button[type=submit]')]);
    assert.equal((await page.textContent('#login-error'))?.trim(), 'That is not the master key.');
    assert.equal(await page.$('#deployments'), null, 'no data on the form');
    const cookies = await context.cookies();
    assert.equal(cookies.length, 0);
    await screenshot(page, 'login-error');
  });

  test('the master key signs in: both deployments show healthy, and the key never reaches a script', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.fill('#key', MASTER);
    await Promise.all([page.waitForURL(`${gw.url}/ui`), page.click('button[type=submit]')]);
    await waitForCell(page, 'alpha', 'status', 'healthy');
    await waitForCell(page, 'beta', 'status', 'healthy');
    const [cookie] = await context.cookies();
    assert.equal(cookie!.name, 'sluice_ui');
    assert.equal(cookie!.httpOnly, true);
    assert.equal(cookie!.sameSite, 'Strict');
    assert.ok(!cookie!.value.includes(MASTER));
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
    assert.match((await page.textContent('#updated')) ?? '', /^Last updated /);
    assert.ok(!(await page.content()).includes(MASTER));
  });

  test('a request sent with the openai client is counted on the page', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(answer.choices[0]!.message.content!.length > 0);
    // Round robin sent it to one of the two; the page shows it on that row and in the key's row.
    await page.waitForFunction(
      () => {
        const counts = [...document.querySelectorAll('tr[data-deployment] [data-field="requests"]')].map((td) => Number(td.textContent));
        const master = document.querySelector('tr[data-key="master"] [data-field="requests"]')?.textContent;
        return counts.reduce((a, b) => a + b, 0) === 1 && master === '1';
      },
      undefined,
      { timeout: HANG_GUARD_MS, polling: 50 },
    );
    await screenshot(page, 'laptop');
  });

  test('a stopped backend shows its deployment unhealthy, with its error, while the other stays healthy', async () => {
    await beta.close();
    await waitForCell(page, 'beta', 'status', 'unhealthy');
    assert.equal(await cellText(page, 'alpha', 'status'), 'healthy');
    assert.notEqual(await cellText(page, 'beta', 'last_error'), '—');
    assert.equal(await page.getAttribute('tr[data-deployment="beta"]', 'data-status'), 'unhealthy');
  });

  test('on a phone the tables become cards, each value labelled', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const layout = await page.evaluate(() => {
      const table = document.querySelector('#deployments')!;
      const cell = table.querySelector('tbody td[data-field="status"]')!;
      return {
        head: getComputedStyle(table.querySelector('thead')!).display,
        row: getComputedStyle(table.querySelector('tbody tr')!).display,
        label: getComputedStyle(cell, '::before').content,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
      };
    });
    assert.equal(layout.head, 'none');
    assert.equal(layout.row, 'block');
    assert.equal(layout.label, '"Status"');
    assert.ok(layout.overflow <= 0, `the page scrolls sideways by ${layout.overflow}px at phone width`);
    await screenshot(page, 'phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#deployments thead')!).display), 'table-header-group');
  });

  test('signing out returns to the form, and the page loaded no script or style the policy blocked', async () => {
    await Promise.all([page.waitForURL(`${gw.url}/ui`), page.click('header button[type=submit]')]);
    await page.waitForSelector('#key');
    assert.equal((await context.cookies()).length, 0);
    assert.deepEqual(pageErrors, []);
  });
});
