// A real headless Chromium (from the npm package @sparticuz/chromium, driven by puppeteer-core)
// for tests of the web UI, plus what those tests share: signing in, axe-core checks and
// screenshots written for review under test-output/screenshots.
import fs from 'node:fs';
import path from 'node:path';
import chromium from '@sparticuz/chromium';
import axe from 'axe-core';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { REPO_ROOT } from './fixtures.js';

export type { Browser, Page } from 'puppeteer-core';

export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'test-output', 'screenshots');

/** A new headless browser; close it in an after() hook. */
export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    args: [...chromium.args, '--ignore-certificate-errors'],
    executablePath: await chromium.executablePath(),
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
  });
}

/** Signs the page in with an API token through the sign-in form, and waits for the page after it. */
export async function signInWithToken(page: Page, baseUrl: string, token: string, next?: string): Promise<void> {
  await page.goto(`${baseUrl}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login/token"] button[type="submit"]')]);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

/** The serious and critical accessibility violations axe-core finds on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  await page.evaluate(axe.source);
  // A string, run in the page: the test's TypeScript has no DOM types.
  const found = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length })))`)) as AxeViolation[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Writes a full-page screenshot to test-output/screenshots/<name>.png for review. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
