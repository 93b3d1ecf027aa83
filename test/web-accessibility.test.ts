// Every page of the web UI as people with different screens and abilities use it: axe-core finds
// no serious or critical violation at 1280 px nor at 360 px, nothing is wider than a 360 px phone,
// the main pages are screenshotted for review (test-output/screenshots/), and the sign-in page and
// a run page work with the keyboard alone, in a real headless Chromium.
import assert from 'node:assert/strict';
import { launchBrowser, screenshot, seriousViolations, signInWithToken, type Browser, type Page } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';
import { pagesOf, seedWebWorld, type WebPage, type WebWorld } from './helpers/web-world.js';

const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 360, height: 740 };

/** What is wrong with one page, in words; empty when nothing is. */
interface Finding {
  page: string;
  problem: string;
}

describe('web UI accessibility', function () {
  this.timeout(300_000);
  let server: TestServer;
  let browser: Browser;
  let world: WebWorld;
  /** Signed in as the site admin. */
  let admin: Page;

  before(async () => {
    server = await startServer({ config: { concurrency: 1 } });
    world = await seedWebWorld(server);
    browser = await launchBrowser();
    admin = await browser.newPage();
    await signInWithToken(admin, server.url, server.siteToken);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Opens the page; a 5xx or a failed load is a finding. */
  async function visit(page: Page, p: WebPage, findings: Finding[]): Promise<boolean> {
    const res = await page.goto(`${server.url}${p.path}`, { waitUntil: 'load' });
    const status = res?.status() ?? 0;
    if (status >= 500 || status === 0) {
      findings.push({ page: p.name, problem: `answered ${status}` });
      return false;
    }
    return true;
  }

  async function axeFindings(page: Page, p: WebPage, width: number, findings: Finding[]): Promise<void> {
    for (const v of await seriousViolations(page)) findings.push({ page: p.name, problem: `${width} px: ${v.impact} ${v.id} (${v.help}) on ${v.nodes} element(s)` });
  }

  /**
   * Runs `fn` on the admin's page as a visitor who is not signed in: the cookies are set aside and
   * put back after. (This Chromium runs as a single process, where a second browser context dies.)
   */
  async function signedOut<T>(fn: (page: Page) => Promise<T>): Promise<T> {
    const cookies = await admin.cookies();
    await admin.deleteCookie(...cookies);
    try {
      return await fn(admin);
    } finally {
      await admin.deleteCookie(...(await admin.cookies()));
      await admin.setCookie(...cookies);
    }
  }

  /** The pages seen signed out: the sign-in page. */
  const signedOutPages: WebPage[] = [{ name: 'sign-in', path: '/login', main: true }];

  it('every page at 1280 px has no serious or critical axe-core violation; main pages are screenshotted', async () => {
    const findings: Finding[] = [];
    await admin.setViewport(WIDE);
    const pages = pagesOf(world);
    for (const p of pages) {
      if (!(await visit(admin, p, findings))) continue;
      await axeFindings(admin, p, WIDE.width, findings);
      if (p.main) await screenshot(admin, `${p.name}-1280`);
    }
    await signedOut(async (visitor) => {
      for (const p of signedOutPages) {
        if (!(await visit(visitor, p, findings))) continue;
        await axeFindings(visitor, p, WIDE.width, findings);
        if (p.main) await screenshot(visitor, `${p.name}-1280`);
      }
    });
    assert.deepEqual(findings, [], `pages checked: ${[...pages, ...signedOutPages].map((p) => p.name).join(', ')}`);
  });

  it('every page at 360 px has no serious or critical axe-core violation and nothing wider than the screen', async () => {
    const findings: Finding[] = [];
    const check = async (page: Page, p: WebPage) => {
      if (!(await visit(page, p, findings))) return;
      await axeFindings(page, p, NARROW.width, findings);
      // A string, run in the page: the test's TypeScript has no DOM types.
      const { scrollWidth, innerWidth } = (await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })')) as {
        scrollWidth: number;
        innerWidth: number;
      };
      if (scrollWidth > innerWidth + 1) findings.push({ page: p.name, problem: `360 px: the page is ${scrollWidth} px wide (horizontal scrolling)` });
      if (p.main) await screenshot(page, `${p.name}-360`);
    };
    await admin.setViewport(NARROW);
    for (const p of pagesOf(world)) await check(admin, p);
    await signedOut(async (visitor) => {
      for (const p of signedOutPages) await check(visitor, p);
    });
    await admin.setViewport(WIDE);
    assert.deepEqual(findings, []);
  });

  it("a run page shows terraform's colours in its logs (classes the stylesheet colours, no style attributes)", async () => {
    await admin.setViewport(WIDE);
    await admin.goto(`${server.url}/app/${world.org}/workspaces/${world.workspace.name}/runs/${world.run.id}`);
    const colours = (await admin.evaluate(`(() => {
      const base = getComputedStyle(document.querySelector('.log')).color;
      const spans = [...document.querySelectorAll('.log span[class*="-fg"]')];
      return { spans: spans.length, coloured: spans.filter((s) => getComputedStyle(s).color !== base).length, styled: document.querySelectorAll('.log [style]').length };
    })()`)) as { spans: number; coloured: number; styled: number };
    assert.ok(colours.spans > 0, 'the log has coloured text');
    assert.equal(colours.coloured, colours.spans, 'every coloured span has its colour');
    assert.equal(colours.styled, 0);
  });

  /**
   * The controls of the page in document order (links, buttons, fields), as Tab should reach them,
   * and the control Tab reaches each time, pressing it once more than there are controls.
   */
  async function tabOrder(page: Page): Promise<{ expected: string[]; reached: string[] }> {
    const describe = `(el) => {
      const tag = el.tagName.toLowerCase();
      const text = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || el.id || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
      return tag + (el.id ? '#' + el.id : '') + ' "' + text + '"';
    }`;
    const expected = (await page.evaluate(`(() => {
      const describe = ${describe};
      const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')];
      return all.filter((el) => !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0 && (el.getClientRects().length > 0 || el.classList.contains('skip-link'))).map(describe);
    })()`)) as string[];
    // Start from the top of the document, as a visitor who just opened the page.
    await page.evaluate('document.activeElement && document.activeElement.blur(); window.getSelection().removeAllRanges()');
    const reached: string[] = [];
    for (let i = 0; i < expected.length; i++) {
      await page.keyboard.press('Tab');
      reached.push((await page.evaluate(`(${describe})(document.activeElement)`)) as string);
    }
    return { expected, reached };
  }

  it('the sign-in page works by keyboard alone: Tab reaches every control in order, the skip link shows, Enter signs in', async () => {
    await signedOut(async (page) => {
      await page.goto(`${server.url}/login`);
      const { expected, reached } = await tabOrder(page);
      assert.ok(expected.some((e) => e.startsWith('input#token')), `the token field is a control: ${expected.join(', ')}`);
      assert.deepEqual(reached, expected);

      // The skip link is the first stop, and it shows when focused (it hides only until then).
      await page.reload();
      await page.keyboard.press('Tab');
      const skip = (await page.evaluate(`(() => { const el = document.activeElement; const r = el.getBoundingClientRect();
        return { cls: el.className, visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth }; })()`)) as { cls: string; visible: boolean };
      assert.deepEqual(skip, { cls: 'skip-link', visible: true });
      // Enter on it skips the navigation: the next Tab is inside the page's main content.
      await page.keyboard.press('Enter');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate("document.activeElement.closest('main') !== null"), true, 'after the skip link, Tab goes on in the main content');

      // Tab to the token field, type, Enter: signed in.
      for (let i = 0; i < 20; i++) {
        if ((await page.evaluate('document.activeElement && document.activeElement.id')) === 'token') break;
        await page.keyboard.press('Tab');
      }
      assert.equal(await page.evaluate('document.activeElement.id'), 'token');
      await page.keyboard.type(server.siteToken);
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      assert.equal(new URL(page.url()).pathname, '/app/organizations');
      assert.ok((await page.content()).includes(world.org));
    });
  });

  it('a run page works by keyboard alone: Tab reaches every control in order, and a comment is posted with Tab and Enter', async () => {
    await admin.setViewport(WIDE);
    const runPath = `/app/${world.org}/workspaces/${world.workspace.name}/runs/${world.run.id}`;
    await admin.goto(`${server.url}${runPath}`);
    const { expected, reached } = await tabOrder(admin);
    assert.ok(expected.some((e) => e.startsWith('textarea')), `the comment field is a control: ${expected.join(', ')}`);
    assert.deepEqual(reached, expected);

    // From the top: Tab to the comment field, type, Tab to its button, Enter.
    await admin.goto(`${server.url}${runPath}`);
    for (let i = 0; i < 60; i++) {
      if ((await admin.evaluate('document.activeElement && document.activeElement.tagName')) === 'TEXTAREA') break;
      await admin.keyboard.press('Tab');
    }
    assert.equal(await admin.evaluate('document.activeElement.tagName'), 'TEXTAREA');
    await admin.keyboard.type('typed without a mouse');
    await admin.keyboard.press('Tab');
    assert.equal(await admin.evaluate('document.activeElement.tagName'), 'BUTTON');
    await Promise.all([admin.waitForNavigation(), admin.keyboard.press('Enter')]);
    assert.equal(new URL(admin.url()).pathname, runPath);
    assert.ok(((await admin.evaluate('document.body.innerText')) as string).includes('typed without a mouse'));
  });
});
