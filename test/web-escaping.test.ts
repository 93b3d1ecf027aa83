// Markup typed into every free-text field that reaches a page (descriptions, run messages,
// comments, variable descriptions (keys are refused by the API), variable sets, token descriptions, VCS provider names,
// log lines) and into URLs: every page shows it as text, never as a live element. Checked twice:
// in the HTML otfd sends, and in a real Chromium, where no injected element exists and no dialog
// opens. No page answers with a 5xx.
import assert from 'node:assert/strict';
import { launchBrowser, signInWithToken, type Browser, type Page } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';
import { WebClient } from './helpers/web.js';
import { pagesOf, seedWebWorld, terraformLoginPath, type WebPage, type WebWorld } from './helpers/web-world.js';

/** An image whose error handler runs script, a script element, and quotes that end attributes. */
const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const PAYLOAD = `x"'>${IMG}${SCRIPT}`;

/** What a user typed: the field's name and the markup (the name tells which field leaked, if one does). */
const hostile = (field: string) => `${field.replace(/[^A-Za-z]+/g, '-')} ${PAYLOAD}`;

/** The fields the API accepts markup in: each must reach the pages as text. */
const FREE_TEXT_FIELDS = [
  'workspace description',
  'variable description',
  'variable set description',
  'variable set variable description',
  'team token description',
  'user token description',
  'organization token description',
  'agent token description',
  'VCS provider name',
  'log line',
  'run message',
  'comment',
];

/** Pages at URLs a visitor may have been sent to by someone else, with markup in them. */
function hostileUrls(w: WebWorld): WebPage[] {
  const enc = encodeURIComponent(PAYLOAD);
  return [
    { name: 'sign-in with markup in next', path: `/login?next=${encodeURIComponent(`/app/${PAYLOAD}`)}` },
    { name: 'organization named with markup', path: `/app/${enc}/workspaces` },
    { name: 'workspace named with markup', path: `/app/${w.org}/workspaces/${enc}` },
    { name: 'run id with markup', path: `/app/${w.org}/workspaces/${w.workspace.name}/runs/${enc}` },
    { name: 'terraform login with markup in state', path: terraformLoginPath(PAYLOAD) },
    { name: 'query with markup', path: `/app/${w.org}/workspaces?search=${enc}&tag=${enc}&page=${enc}` },
  ];
}

describe('web UI escaping', function () {
  this.timeout(300_000);
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let world: WebWorld;
  const dialogs: string[] = [];

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
    world = await seedWebWorld(server, hostile);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('dialog', (d) => {
      dialogs.push(`${page.url()}: ${d.message()}`);
      void d.dismiss();
    });
    await signInWithToken(page, server.url, server.siteToken);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the API takes markup in every free-text field, so the pages have it to show', () => {
    assert.deepEqual(
      FREE_TEXT_FIELDS.filter((f) => !world.carried.includes(f)),
      [],
    );
  });

  it('every page sends the markup only as escaped text, and none answers with a 5xx', async () => {
    const client = new WebClient(server.url);
    await client.signIn(server.siteToken);
    const findings: string[] = [];
    for (const p of [...pagesOf(world), ...hostileUrls(world)]) {
      const res = await client.get(p.path);
      if (res.status >= 500) findings.push(`${p.name}: ${res.status}`);
      for (const live of [IMG, SCRIPT, `"'>`]) if (res.text.includes(live)) findings.push(`${p.name}: ${JSON.stringify(live)} is in the HTML unescaped`);
    }
    // Signed out, too: the sign-in page and a page that sends a visitor there.
    const visitor = new WebClient(server.url);
    for (const path of [`/login?next=${encodeURIComponent(`/${PAYLOAD}`)}`, `/app/${encodeURIComponent(PAYLOAD)}`]) {
      const res = await visitor.get(path);
      if (res.status >= 500) findings.push(`signed out ${path}: ${res.status}`);
      for (const live of [IMG, SCRIPT]) if (res.text.includes(live)) findings.push(`signed out ${path}: ${JSON.stringify(live)} unescaped`);
    }
    assert.deepEqual(findings, []);
  });

  it('in Chromium, no page has an injected element or opens a dialog, and each shows the fields it should as text or field values', async () => {
    const findings: string[] = [];
    for (const p of [...pagesOf(world), ...hostileUrls(world)]) {
      const res = await page.goto(`${server.url}${p.path}`, { waitUntil: 'load' });
      if ((res?.status() ?? 0) >= 500) findings.push(`${p.name}: ${res?.status()}`);
      // A string, run in the page: the test's TypeScript has no DOM types.
      const found = (await page.evaluate(`(() => ({
        images: document.querySelectorAll('img[onerror]').length,
        scripts: [...document.scripts].filter((s) => !s.src || s.textContent.includes('alert')).length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
        // What the page shows: its text, and what its form fields hold (values are text too).
        text: document.body.innerText + [...document.querySelectorAll('input, textarea')].map((f) => f.value).join(' '),
      }))()`)) as { images: number; scripts: number; handlers: number; text: string };
      if (found.images) findings.push(`${p.name}: ${found.images} injected img[onerror]`);
      if (found.scripts) findings.push(`${p.name}: ${found.scripts} injected script(s)`);
      if (found.handlers) findings.push(`${p.name}: ${found.handlers} element(s) with an on* attribute`);
      for (const f of p.shows ?? []) if (!found.text.includes(hostile(f))) findings.push(`${p.name}: does not show the ${f} as text`);
    }
    assert.deepEqual(findings, []);
    assert.deepEqual(dialogs, [], 'no dialog opened');
  });
});
