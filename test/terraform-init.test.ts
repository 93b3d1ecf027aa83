// The real terraform CLI (on PATH) runs `terraform init` against otfd over TLS with a self-signed
// certificate, through the `cloud` block (name and tags strategies) and the `remote` backend.
import assert from 'node:assert/strict';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { cloudBlock, remoteBlock, terraform, workdir } from './helpers/terraform.js';

describe('terraform init against otfd (real CLI over TLS)', function () {
  let server: TestServer;
  let org: string;

  before(async () => {
    server = await startServer({ ssl: true });
    org = await createOrganization(server.api);
  });
  after(() => server.stop());

  it('initialises a cloud block with a workspace name and creates the workspace', async () => {
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "web"') });
    const r = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /HCP Terraform has been successfully initialized/);
    const ws = await server.api.get(`/organizations/${org}/workspaces/web`);
    assert.equal(ws.status, 200);
    // The CLI patches the new workspace to its own version.
    assert.equal(ws.body.data.attributes['terraform-version'], '1.11.4');
    assert.equal(ws.body.data.attributes.locked, false);
  });

  it('initialises again against the existing workspace without changing it', async () => {
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "web"') });
    const before = await server.api.get(`/organizations/${org}/workspaces/web`);
    const r = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(r.code, 0, r.output);
    const after = await server.api.get(`/organizations/${org}/workspaces/web`);
    assert.equal(after.body.data.id, before.body.data.id);
  });

  it('with tags and a project: creates a tagged workspace when asked for a name, then lists and creates more', async () => {
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'tags = ["app"]\n      project = "platform"') });
    const init = await terraform(server, dir, ['init'], { input: 'app-one\n' });
    assert.equal(init.code, 0, init.output);
    const created = await terraform(server, dir, ['workspace', 'new', 'app-two']);
    assert.equal(created.code, 0, created.output);
    const list = await terraform(server, dir, ['workspace', 'list']);
    assert.equal(list.code, 0, list.output);
    assert.match(list.stdout, /^\s+app-one$/m);
    assert.match(list.stdout, /^\* app-two$/m);

    const tagged = await server.api.get(`/organizations/${org}/workspaces?search[tags]=app`);
    assert.deepEqual(tagged.body.data.map((w: { attributes: { name: string } }) => w.attributes.name).sort(), ['app-one', 'app-two']);
    for (const w of tagged.body.data) {
      assert.deepEqual(w.attributes['tag-names'], ['app']);
    }
    const projects = await server.api.get(`/organizations/${org}/projects?filter[names]=platform`);
    assert.equal(projects.body.data.length, 1, 'the CLI created the project');
    assert.equal(tagged.body.data[0].relationships.project.data.id, projects.body.data[0].id);
  });

  it('with tags, lists only workspaces that carry them', async () => {
    await createWorkspace(server.api, org, 'untagged-one');
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'tags = ["app"]\n      project = "platform"') });
    const init = await terraform(server, dir, ['init', '-input=false'], { env: { TF_WORKSPACE: 'app-one' } });
    assert.equal(init.code, 0, init.output);
    const list = await terraform(server, dir, ['workspace', 'list'], { env: { TF_WORKSPACE: 'app-one' } });
    assert.doesNotMatch(list.stdout, /untagged-one/);
    assert.match(list.stdout, /app-one/);
  });

  it('initialises backend "remote" with a prefix and manages the prefixed workspaces', async () => {
    await createWorkspace(server.api, org, 'net-prod');
    const dir = workdir({ 'main.tf': remoteBlock(server, org, 'prefix = "net-"') });
    const init = await terraform(server, dir, ['init', '-input=false'], { env: { TF_WORKSPACE: 'prod' } });
    assert.equal(init.code, 0, init.output);
    assert.match(init.output, /Successfully configured the backend "remote"/);
    const created = await terraform(server, dir, ['workspace', 'new', 'dev'], { env: {} });
    assert.equal(created.code, 0, created.output);
    const ws = await server.api.get(`/organizations/${org}/workspaces/net-dev`);
    assert.equal(ws.status, 200, 'the prefix is part of the workspace name');
    const list = await terraform(server, dir, ['workspace', 'list']);
    assert.match(list.stdout, /^\s+prod$/m);
    assert.match(list.stdout, /^\* dev$/m);
  });

  it('initialises backend "remote" with a workspace name', async () => {
    const dir = workdir({ 'main.tf': remoteBlock(server, org, 'name = "legacy"') });
    const r = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(r.code, 0, r.output);
    const ws = await server.api.get(`/organizations/${org}/workspaces/legacy`);
    assert.equal(ws.status, 200);
    assert.equal(ws.body.data.attributes['terraform-version'], '1.11.4');
  });

  it('gives the CLI its own clear error for an organization that does not exist', async () => {
    const dir = workdir({ 'main.tf': cloudBlock(server, 'no-such-org', 'name = "web"') });
    const r = await terraform(server, dir, ['init', '-input=false']);
    assert.equal(r.code, 1);
    assert.match(r.output, /organization "no-such-org" at host localhost:\d+ not found/);
  });

  it('gives the CLI its own clear error for an organization token of another organization', async () => {
    const other = await createOrganization(server.api);
    const token = (await server.api.post(`/organizations/${other}/authentication-token`)).body.data.attributes.token as string;
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "web"') });
    const r = await terraform(server, dir, ['init', '-input=false'], { token });
    assert.equal(r.code, 1);
    assert.match(r.output, new RegExp(`organization "${org}" at host localhost:\\d+ not found`));
  });

  it('gives the CLI its own clear error for a token the server does not know', async () => {
    const dir = workdir({ 'main.tf': cloudBlock(server, org, 'name = "web"') });
    const r = await terraform(server, dir, ['init', '-input=false'], { token: 'not-a-real-token' });
    assert.equal(r.code, 1);
    assert.match(r.output, /Failed to read organization/);
    assert.match(r.output, /unauthorized/);
  });
});
