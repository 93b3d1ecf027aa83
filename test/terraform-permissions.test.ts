// The terraform CLI with users of limited rights: it reads the workspace's permissions block and
// refuses by itself what the user may not do, and otfd refuses it too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from './helpers/fixtures.js';
import { createTeam, createUser, addToOrganization, grant, type TestUser } from './helpers/people.js';
import { createOrganization, createWorkspace, randomName, startServer, type TestServer } from './helpers/server.js';
import { expectCode, terraform, workdir } from './helpers/terraform.js';

describe('terraform with users of limited rights (real CLI over TLS)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let org: string;
  let wsName: string;
  let wsId: string;
  let planner: TestUser;
  let reader: TestUser;
  let dir: string;

  async function userWith(access: string): Promise<TestUser> {
    const team = await createTeam(server.api, org);
    await grant(server.api, team.id, wsId, access);
    const user = await createUser(server.api);
    await addToOrganization(server.api, org, user, [team.id]);
    return user;
  }

  before(async () => {
    server = await startServer({ ssl: true, config: { concurrency: 1 } });
    org = await createOrganization(server.api);
    wsName = randomName('ws');
    wsId = (await createWorkspace(server.api, org, wsName)).id;
    planner = await userWith('plan');
    reader = await userWith('read');
    dir = workdir({
      'main.tf': `terraform {
  cloud {
    hostname     = "${server.hostname}"
    organization = "${org}"
    workspaces {
      name = "${wsName}"
    }
  }
}

${fixture('one-resource-no-output')}`,
    });
    expectCode(await terraform(server, dir, ['init', '-input=false'], { token: planner.token }), 0);
  });
  after(() => server.stop());

  it('a user with plan access runs terraform plan', async () => {
    const plan = await terraform(server, dir, ['plan', '-input=false'], { token: planner.token });
    expectCode(plan, 0);
    assert.match(plan.output, /Plan: 1 to add, 0 to change, 0 to destroy/);
  });

  it('a user with plan access is refused terraform apply by the CLI, and no run is applied', async () => {
    const apply = await terraform(server, dir, ['apply', '-auto-approve', '-input=false'], { token: planner.token });
    assert.notEqual(apply.code, 0, apply.output);
    assert.match(apply.output, /Insufficient rights to apply changes/);
    const runs = await server.api.get(`/workspaces/${wsId}/runs`);
    assert.ok(
      runs.body.data.every((r: { attributes: { status: string } }) => r.attributes.status !== 'applied'),
      runs.text,
    );
    assert.equal((await server.api.get(`/workspaces/${wsId}/current-state-version`)).status, 404);
  });

  it('a user with read access is refused terraform plan by the CLI', async () => {
    const plan = await terraform(server, dir, ['plan', '-input=false'], { token: reader.token });
    assert.notEqual(plan.code, 0, plan.output);
    assert.match(plan.output, /Insufficient rights to generate a plan/);
  });

  it('a user outside the organization gets the CLI\'s not-found error at init', async () => {
    const stranger = await createUser(server.api);
    const other = workdir({ 'main.tf': fs.readFileSync(path.join(dir, 'main.tf'), 'utf8') });
    const init = await terraform(server, other, ['init', '-input=false'], { token: stranger.token });
    assert.notEqual(init.code, 0, init.output);
    assert.match(init.output, new RegExp(`organization "${org}" at host \\S+ not found`));
  });
});
