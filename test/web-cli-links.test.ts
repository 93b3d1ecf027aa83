// The link terraform prints after a remote apply ("To view this run in a browser, visit: ...") opens
// that run's page: the real terraform CLI with a cloud block applies through otfd (TLS, the server
// agent executing), and a real Chromium, signed in, follows the link it printed.
import assert from 'node:assert/strict';
import { launchBrowser, signInWithToken, type Browser } from './helpers/browser.js';
import { createOrganization, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, expectCode, terraform, workdir } from './helpers/terraform.js';

describe('web UI: the links terraform prints', function () {
  this.timeout(180_000);
  let server: TestServer;
  let browser: Browser;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 1 } });
    org = await createOrganization(server.api);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("terraform apply's run link opens that run's page, which shows the applied run", async () => {
    const dir = workdir({
      'main.tf': cloudBlock(server, org, 'name = "linked"') + 'resource "terraform_data" "linked" {\n  input = "linked"\n}\n',
    });
    expectCode(await terraform(server, dir, ['init', '-input=false']), 0);
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false']);
    expectCode(apply, 0);
    const link = /To view this run in a browser, visit:\s*(\S+)/.exec(apply.output)?.[1];
    assert.ok(link, `terraform printed a run link:\n${apply.output}`);
    const runId = /\/runs\/(run-[A-Za-z0-9]+)$/.exec(link)?.[1];
    assert.ok(runId, `the link names a run: ${link}`);
    assert.equal(new URL(link).pathname, `/app/${org}/linked/runs/${runId}`, 'the CLI builds its own URL shape');

    const page = await browser.newPage();
    // Not signed in yet: the link leads to sign-in, and from there to the run.
    await page.goto(link);
    assert.equal(new URL(page.url()).pathname, '/login');
    await signInWithToken(page, server.url, server.siteToken, new URL(page.url()).searchParams.get('next') ?? undefined);
    assert.equal(new URL(page.url()).pathname, `/app/${org}/workspaces/linked/runs/${runId}`);
    assert.equal(await page.$eval('h1', (el) => el.textContent), `Run ${runId}`);
    assert.equal(await page.$eval('#run-summary .status', (el) => el.textContent), 'applied');
    assert.match(await page.$eval('#apply-log', (el) => el.textContent ?? ''), /Apply complete! Resources: 1 added/);

    // Signed in, the link opens the run page straight away.
    await page.goto(link);
    assert.equal(new URL(page.url()).pathname, `/app/${org}/workspaces/linked/runs/${runId}`);
    assert.match(await page.$eval('#run-summary', (el) => el.textContent ?? ''), /applied/);
    await page.close();
  });
});
