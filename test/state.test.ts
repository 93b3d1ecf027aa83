// The state API as clients see it over HTTP: creating state versions (with the state in the
// request or through the signed upload URLs), the rules on locks, serials and lineages, reading
// and downloading versions, outputs, rollbacks, and what other organizations may not see.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SubjectCache } from '../src/auth/cache.js';
import { PostgresBlobStore } from '../src/blobs/store.js';
import { OrganizationService } from '../src/orgs/service.js';
import { ProjectService } from '../src/projects/service.js';
import { StateService } from '../src/state/service.js';
import { WorkspaceService } from '../src/workspaces/service.js';
import type { Api, Json, Response } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { organizationToken, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';

function md5(content: string | Buffer): string {
  return crypto.createHash('md5').update(content).digest('hex');
}

function b64(content: string | Buffer): string {
  return Buffer.from(content).toString('base64');
}

interface StateOptions {
  serial: number;
  lineage: string;
  outputs?: Record<string, { value: unknown; type?: unknown; sensitive?: boolean }>;
  resources?: unknown[];
}

/** A state file as terraform 1.11 writes it. */
function stateFile(o: StateOptions): string {
  const doc = {
    version: 4,
    terraform_version: '1.11.4',
    serial: o.serial,
    lineage: o.lineage,
    outputs: o.outputs ?? {},
    resources: o.resources ?? [],
    check_results: null,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

const managedResource = {
  mode: 'managed',
  type: 'terraform_data',
  name: 'x',
  provider: 'provider["terraform.io/builtin/terraform"]',
  instances: [{ schema_version: 0, attributes: { id: 'abc', input: null, output: null, triggers_replace: null } }],
};

const dataResource = {
  mode: 'data',
  type: 'terraform_remote_state',
  name: 'other',
  provider: 'provider["terraform.io/builtin/terraform"]',
  instances: [{ schema_version: 0, attributes: { backend: 'local' } }],
};

function versionDoc(attributes: Record<string, unknown>, relationships?: Record<string, unknown>): Json {
  return { data: { type: 'state-versions', attributes, ...(relationships ? { relationships } : {}) } };
}

const cliLockBody = { data: { type: '', attributes: { reason: 'Locked by Terraform' } } };

async function lock(api: Api, wsId: string): Promise<void> {
  const res = await api.post(`/workspaces/${wsId}/actions/lock`, cliLockBody);
  assert.equal(res.status, 200, res.text);
}

async function unlock(api: Api, wsId: string): Promise<void> {
  const res = await api.post(`/workspaces/${wsId}/actions/unlock`);
  assert.equal(res.status, 200, res.text);
}

/** A PUT to a signed URL as the CLI sends it: raw bytes, no bearer token. */
function put(api: Api, url: string, content: string | Buffer): Promise<Response> {
  return api.request('PUT', url, { token: null, raw: content, headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json, */*' } });
}

/** POSTs a pending version for content (serial and lineage taken from it) and returns the document's data. */
async function createPending(api: Api, wsId: string, content: string, extra: Record<string, unknown> = {}): Promise<Json> {
  const parsed = JSON.parse(content);
  const res = await api.post(`/workspaces/${wsId}/state-versions`, versionDoc({ serial: parsed.serial, lineage: parsed.lineage, md5: md5(content), ...extra }));
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.data.attributes.status, 'pending');
  return res.body.data;
}

/** The CLI's sequence: create, upload the state; returns the finalized version's data. */
async function push(api: Api, wsId: string, content: string): Promise<Json> {
  const created = await createPending(api, wsId, content);
  const uploaded = await put(api, created.attributes['hosted-state-upload-url'], content);
  assert.equal(uploaded.status, 200, uploaded.text);
  const shown = await api.get(`/state-versions/${created.id}`);
  assert.equal(shown.status, 200, shown.text);
  assert.equal(shown.body.data.attributes.status, 'finalized');
  return shown.body.data;
}

async function currentId(api: Api, wsId: string): Promise<string | null> {
  const res = await api.get(`/workspaces/${wsId}/current-state-version`);
  if (res.status === 404) return null;
  assert.equal(res.status, 200, res.text);
  return res.body.data.id;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('state versions API', function () {
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer();
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  /** The keys of what the blob store holds of a state version's state file. */
  async function storedKeys(versionId: string): Promise<string[]> {
    const rows = await server.otfd.db('blobs').where('key', 'like', `state-versions/${versionId}/%`).whereNot('key', 'like', '%/json-state').orderBy('key').select<{ key: string }[]>('key');
    return rows.map((r) => r.key);
  }

  /** A fresh workspace locked by the site admin. */
  async function lockedWorkspace(): Promise<Json> {
    const ws = await createWorkspace(api, org);
    await lock(api, ws.id);
    return ws;
  }

  describe('create and upload', function () {
    it('creates a pending version with absolute upload URLs; the uploads make it current', async () => {
      const ws = await lockedWorkspace();
      const lineage = crypto.randomUUID();
      const content = stateFile({ serial: 1, lineage, resources: [managedResource, dataResource] });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage, md5: md5(content), force: false }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers['x-terraform-snapshot-interval'], '300');
      const data = res.body.data;
      assert.equal(data.type, 'state-versions');
      assert.match(data.id, /^sv-[A-Za-z0-9]{16}$/);
      const a = data.attributes;
      assert.equal(a.status, 'pending');
      assert.equal(a.serial, 1);
      assert.equal(a.lineage, lineage);
      assert.equal(a.md5, md5(content));
      assert.match(a['created-at'], ISO_UTC);
      assert.ok(a['hosted-state-upload-url'].startsWith(`${server.url}/_signed/state-versions/${data.id}/`), a['hosted-state-upload-url']);
      assert.ok(a['hosted-json-state-upload-url'].startsWith(`${server.url}/_signed/state-versions-json/${data.id}/`));
      assert.equal(a['hosted-state-download-url'], null);
      assert.deepEqual(data.relationships.workspace.data, { type: 'workspaces', id: ws.id });
      assert.deepEqual(data.relationships['created-by'].data, { type: 'users', id: 'user-site-admin' });
      assert.equal(data.relationships.run.data, null);
      assert.equal(await currentId(api, ws.id), null, 'a pending version is not current');

      const jsonState = JSON.stringify({ format_version: '1.0', terraform_version: '1.11.4', values: { root_module: {} } });
      assert.equal((await put(api, a['hosted-json-state-upload-url'], jsonState)).status, 200);
      const uploaded = await put(api, a['hosted-state-upload-url'], content);
      assert.equal(uploaded.status, 200, uploaded.text);
      assert.equal(await currentId(api, ws.id), data.id, 'current as soon as the upload is answered');

      const shown = await api.get(`/state-versions/${data.id}`);
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.headers['x-terraform-snapshot-interval'], '300');
      const s = shown.body.data.attributes;
      assert.equal(s.status, 'finalized');
      assert.equal(s.size, Buffer.byteLength(content));
      assert.equal(s['state-version'], 4);
      assert.equal(s['terraform-version'], '1.11.4');
      assert.equal(s['resources-processed'], true);
      assert.equal(s['vcs-commit-sha'], null);
      assert.equal(s['hosted-state-download-url'], `${server.url}/api/v2/state-versions/${data.id}/download`);
      assert.equal(s['hosted-json-state-download-url'], `${server.url}/api/v2/state-versions/${data.id}/json-download`);
      assert.equal(s['hosted-state-upload-url'], null, 'a finalized version takes no more state');
      assert.ok(s['hosted-json-state-upload-url'].startsWith(`${server.url}/_signed/state-versions-json/${data.id}/`), 'a writer may still add its JSON state');
      // A reader is handed no upload URL, in a version or in a list: a JSON state is taken at it, whoever brings it.
      const reader = await userWithAccess(api, org, [ws.id], 'read');
      const read = await reader.client.get(`/state-versions/${data.id}`);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.data.attributes['hosted-json-state-upload-url'], null);
      assert.equal(read.body.data.attributes['hosted-state-upload-url'], null);
      const listed = await reader.client.get(`/workspaces/${ws.id}/state-versions`);
      assert.equal(listed.status, 200, listed.text);
      assert.ok(listed.body.data.every((v: { attributes: Record<string, unknown> }) => v.attributes['hosted-json-state-upload-url'] === null));
      assert.deepEqual(s.resources, [
        { name: 'x', type: 'terraform_data', module: 'root', provider: 'provider["terraform.io/builtin/terraform"]', count: 1 },
        { name: 'other', type: 'data.terraform_remote_state', module: 'root', provider: 'provider["terraform.io/builtin/terraform"]', count: 1 },
      ]);
      assert.deepEqual(s.modules, { root: { terraform_data: 1, 'data.terraform_remote_state': 1 } });

      const json = await api.get(s['hosted-json-state-download-url']);
      assert.equal(json.status, 200);
      assert.equal(json.text, jsonState);
    });

    it('creates and finalizes at once with the state in the request (base64)', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 3, lineage: 'lin-a', outputs: { greeting: { value: 'hi', type: 'string' } } });
      const jsonState = JSON.stringify({ format_version: '1.0' });
      const res = await api.post(
        `/workspaces/${ws.id}/state-versions`,
        versionDoc({ serial: 3, lineage: 'lin-a', md5: md5(content), state: b64(content), 'json-state': b64(jsonState) }),
      );
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers['x-terraform-snapshot-interval'], '300');
      assert.equal(res.body.data.attributes.status, 'finalized');
      assert.equal(res.body.data.relationships.outputs.data.length, 1);
      assert.equal(res.body.data.relationships.outputs.data[0].type, 'state-version-outputs');
      assert.equal(await currentId(api, ws.id), res.body.data.id);
      const download = await api.get(`/state-versions/${res.body.data.id}/download`);
      assert.equal(download.text, content);
      const shown = await api.get(`/state-versions/${res.body.data.id}`);
      assert.equal((await api.get(shown.body.data.attributes['hosted-json-state-download-url'])).text, jsonState);
    });

    it('takes the lineage from the state file when the request names none', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'from-file' });
      const created = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, md5: md5(content) }));
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.data.attributes.lineage, null);
      assert.equal((await put(api, created.body.data.attributes['hosted-state-upload-url'], content)).status, 200);
      assert.equal((await api.get(`/state-versions/${created.body.data.id}`)).body.data.attributes.lineage, 'from-file');
    });

    it('ties a version to the run named in relationships.run', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const res = await api.post(
        `/workspaces/${ws.id}/state-versions`,
        versionDoc({ serial: 1, lineage: 'l', md5: md5(content) }, { run: { data: { type: 'runs', id: 'run-abc' } } }),
      );
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.data.relationships.run.data, { type: 'runs', id: 'run-abc' });
    });

    it('refuses a version when the workspace is not locked (409) and stores nothing', async () => {
      const ws = await createWorkspace(api, org);
      const content = stateFile({ serial: 1, lineage: 'l' });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(content), state: b64(content) }));
      assertError(res, 409, /must be locked by you to create a state version, but it is not locked/);
      assert.equal(await currentId(api, ws.id), null);
      assert.equal((await api.get(`/workspaces/${ws.id}/state-versions`)).body.data.length, 0);
    });

    it('refuses a version when somebody else holds the lock (409 naming the holder)', async () => {
      const ws = await createWorkspace(api, org);
      const writer = await userWithAccess(api, org, [ws.id], 'write');
      const token = writer.client;
      await lock(token, ws.id);
      const content = stateFile({ serial: 1, lineage: 'l' });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(content) }));
      assertError(res, 409, new RegExp(`it is locked by User ${writer.username}`));
      // The holder itself may.
      const own = await token.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(content) }));
      assert.equal(own.status, 201, own.text);
      assert.deepEqual(own.body.data.relationships['created-by'].data, { type: 'users', id: writer.id });
      // Its upload never comes: for a few seconds the holder's unlock waits for it, as the CLI expects.
      const early = await token.post(`/workspaces/${ws.id}/actions/unlock`);
      assertError(early, 422, /latest state version is still pending/);
      assert.equal((await api.post(`/workspaces/${ws.id}/actions/force-unlock`)).status, 200);
    });

    it('rejects a serial lower than the current one with 409 naming both, and the current version stays', async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 5, lineage: 'l' }));
      const lower = stateFile({ serial: 4, lineage: 'l' });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 4, lineage: 'l', md5: md5(lower) }));
      assertError(res, 409, /serial 4 is lower than the serial 5 of the current state version/);
      const inline = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 4, lineage: 'l', md5: md5(lower), state: b64(lower) }));
      assertError(inline, 409, /serial 4 is lower than the serial 5/);
      assert.equal(await currentId(api, ws.id), first.id);
    });

    it('rejects the current serial with other content (409) and accepts it with the same content', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 2, lineage: 'l' });
      const first = await push(api, ws.id, content);
      const other = stateFile({ serial: 2, lineage: 'l', outputs: { a: { value: 1, type: 'number' } } });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 2, lineage: 'l', md5: md5(other) }));
      assertError(res, 409, /serial 2 is the serial of the current state version .* but the content differs/);
      assert.equal(await currentId(api, ws.id), first.id);

      // terraform may persist an unchanged state again: the same serial and md5 are accepted.
      const again = await push(api, ws.id, content);
      assert.equal(again.attributes.serial, 2);
      assert.equal(await currentId(api, ws.id), again.id);
    });

    it('rejects a change of lineage with 409 naming both lineages, unless force is true', async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 1, lineage: 'old-lineage' }));
      const other = stateFile({ serial: 2, lineage: 'new-lineage' });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 2, lineage: 'new-lineage', md5: md5(other) }));
      assertError(res, 409, /lineage "new-lineage" differs from the lineage "old-lineage" of the current state version/);
      assert.equal(await currentId(api, ws.id), first.id);

      // force skips every rule, even a lower serial (terraform state push -force).
      const forced = stateFile({ serial: 1, lineage: 'new-lineage' });
      const created = await createPending(api, ws.id, forced, { force: true });
      assert.equal((await put(api, created.attributes['hosted-state-upload-url'], forced)).status, 200);
      assert.equal(await currentId(api, ws.id), created.id);
    });

    it('checks the rules again when the state arrives: a version overtaken by another is refused (409)', async () => {
      const ws = await lockedWorkspace();
      const a = stateFile({ serial: 1, lineage: 'l', outputs: { v: { value: 'a', type: 'string' } } });
      const b = stateFile({ serial: 1, lineage: 'l', outputs: { v: { value: 'b', type: 'string' } } });
      const pendingA = await createPending(api, ws.id, a);
      const inlineB = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(b), state: b64(b) }));
      assert.equal(inlineB.status, 201, inlineB.text);
      // B's finalization discarded A.
      assertError(await put(api, pendingA.attributes['hosted-state-upload-url'], a), 409, /was discarded/);
      assert.equal((await api.get(`/state-versions/${pendingA.id}`)).body.data.attributes.status, 'discarded');
      assert.equal(await currentId(api, ws.id), inlineB.body.data.id);
    });

    it('rejects a base64 state whose MD5 does not match with 422 and stores nothing', async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 1, lineage: 'l' }));
      const content = stateFile({ serial: 2, lineage: 'l' });
      const res = await api.post(
        `/workspaces/${ws.id}/state-versions`,
        versionDoc({ serial: 2, lineage: 'l', md5: md5('something else'), state: b64(content) }),
      );
      assertError(res, 422, /the state's MD5 is [0-9a-f]{32}, but the state version was created with md5/, { pointer: '/data/attributes/md5' });
      assert.equal(await currentId(api, ws.id), first.id);
      assert.equal((await api.get(`/workspaces/${ws.id}/state-versions`)).body.data.length, 1);
    });

    it('rejects an upload whose MD5 does not match with 422; the version stays pending and the current one stays', async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 1, lineage: 'l' }));
      const content = stateFile({ serial: 2, lineage: 'l' });
      const created = await createPending(api, ws.id, content);
      const tampered = content.replace('"l"', '"m"');
      assertError(await put(api, created.attributes['hosted-state-upload-url'], tampered), 422, /the state's MD5 is .* but the state version was created with md5/);
      assert.equal((await api.get(`/state-versions/${created.id}`)).body.data.attributes.status, 'pending');
      assert.equal(await currentId(api, ws.id), first.id);
      assert.deepEqual(await storedKeys(created.id), [], 'nothing of the refused upload is kept');
      // The right bytes are still accepted at the same URL.
      assert.equal((await put(api, created.attributes['hosted-state-upload-url'], content)).status, 200);
      assert.equal(await currentId(api, ws.id), created.id);
    });

    it("records the serial the request names, as Terraform Cloud does, and the file's lineage, which the CLI pushes next (go-tfe's tests)", async () => {
      const ws = await lockedWorkspace();
      // go-tfe sends serial 1 and lineage 741c... with a file of serial 2 and another lineage.
      const content = stateFile({ serial: 2, lineage: 'from-file' });
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'from-request', md5: md5(content), state: b64(content) }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.attributes.serial, 1);
      assert.equal(res.body.data.attributes.lineage, 'from-file');
      assert.equal(res.body.data.attributes.status, 'finalized');
      assert.equal((await api.get(`/state-versions/${res.body.data.id}`)).body.data.attributes.lineage, 'from-file');
      assert.equal((await api.get(`/state-versions/${res.body.data.id}/download`)).text, content, 'the file is kept byte for byte');

      // The same through the upload URL (go-tfe's Upload): the file's lineage replaces the request's.
      const other = stateFile({ serial: 7, lineage: 'from-file', outputs: { a: { value: 'b', type: 'string' } } });
      const pending = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 2, md5: md5(other) }));
      assert.equal(pending.status, 201, pending.text);
      assert.equal((await put(api, pending.body.data.attributes['hosted-state-upload-url'], other)).status, 200);
      assert.equal(await currentId(api, ws.id), pending.body.data.id);
      assert.equal((await api.get(`/state-versions/${pending.body.data.id}`)).body.data.attributes.lineage, 'from-file');

      // The ordering rules hold: a lower serial than recorded, or a file of another lineage without force, are refused.
      const third = stateFile({ serial: 1, lineage: 'from-file' });
      assertError(await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'from-file', md5: md5(third), state: b64(third) })), 409, /serial 1 is lower than the serial 2/);
      const fourth = stateFile({ serial: 3, lineage: 'another' });
      assertError(await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 3, lineage: 'another', md5: md5(fourth), state: b64(fourth) })), 409, /lineage "another" differs from the lineage "from-file"/);
      assertError(await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'from-file', md5: md5(third) })), 409, /serial 1 is lower than the serial 2/);
      assert.equal(await currentId(api, ws.id), pending.body.data.id);

      // What the terraform CLI does next: it downloads the current file and pushes its lineage with a higher serial.
      const next = stateFile({ serial: 8, lineage: 'from-file' });
      const pushed = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 8, lineage: 'from-file', md5: md5(next), state: b64(next) }));
      assert.equal(pushed.status, 201, pushed.text);
      assert.equal(await currentId(api, ws.id), pushed.body.data.id);
    });

    it('rejects uploads that are not a version 4 state file with 422', async () => {
      const ws = await lockedWorkspace();
      const cases: Array<[string, RegExp]> = [
        ['not json at all', /the state file is not valid JSON/],
        ['[1,2]', /the state file must be a JSON object/],
        [JSON.stringify({ version: 3, serial: 1, lineage: 'l' }), /format version 3; only version 4/],
        [JSON.stringify({ version: 4, serial: -1, lineage: 'l' }), /"serial" must be a whole number/],
        [JSON.stringify({ version: 4, serial: 1 }), /"lineage" must be a string/],
        [JSON.stringify({ version: 4, serial: 1, lineage: 'l', outputs: { a: 'x' } }), /output "a" in the state file must be an object with a "value"/],
      ];
      for (const [content, detail] of cases) {
        const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(content) }));
        assert.equal(res.status, 201, res.text);
        assertError(await put(api, res.body.data.attributes['hosted-state-upload-url'], content), 422, detail);
        assert.equal((await api.get(`/state-versions/${res.body.data.id}`)).body.data.attributes.status, 'pending');
      }
      assert.equal(await currentId(api, ws.id), null);
      const invalidUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
      const res = await api.post(`/workspaces/${ws.id}/state-versions`, versionDoc({ serial: 1, lineage: 'l', md5: md5(invalidUtf8) }));
      assertError(await put(api, res.body.data.attributes['hosted-state-upload-url'], invalidUtf8), 422, /not valid UTF-8/);
    });

    it('accepts a retried upload of the same content to a finalized version, answers 409 to other content, and keeps it', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const created = await createPending(api, ws.id, content);
      assert.equal((await put(api, created.attributes['hosted-state-upload-url'], content)).status, 200);
      assert.equal((await put(api, created.attributes['hosted-state-upload-url'], content)).status, 200, 'a retry whose answer was lost');
      const other = stateFile({ serial: 1, lineage: 'l', outputs: { x: { value: 'changed', type: 'string' } } });
      assertError(await put(api, created.attributes['hosted-state-upload-url'], other), 409, /already finalized/);
      assert.equal((await api.get(`/state-versions/${created.id}/download`)).text, content);
    });

    it('answers 404 to upload URLs with a bad signature, a signature of another version or of the other upload', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const one = await createPending(api, ws.id, content);
      const two = await createPending(api, ws.id, content);
      const url: string = one.attributes['hosted-state-upload-url'];
      const signature = url.slice(url.lastIndexOf('/') + 1);
      const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
      for (const bad of [
        `${server.url}/_signed/state-versions/${one.id}/${flipped}`,
        `${server.url}/_signed/state-versions/${one.id}/not-a-signature`,
        `${server.url}/_signed/state-versions/${one.id}/1.${signature.split('.')[1]}`,
        `${server.url}/_signed/state-versions/${two.id}/${signature}`,
        `${server.url}/_signed/state-versions-json/${one.id}/${signature}`,
      ]) {
        assertError(await put(api, bad, content), 404, /upload URL is not valid, or it has expired/);
      }
      assert.equal((await api.get(`/state-versions/${one.id}`)).body.data.attributes.status, 'pending');
      assert.equal(await currentId(api, ws.id), null);
    });

    it('finalizes a version once when the same upload arrives three times at once', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const created = await createPending(api, ws.id, content);
      const url = created.attributes['hosted-state-upload-url'];
      const results = await Promise.all([put(api, url, content), put(api, url, content), put(api, url, content)]);
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 200, 200],
        results.map((r) => r.text).join('\n'),
      );
      const versions = await api.get(`/workspaces/${ws.id}/state-versions`);
      assert.equal(versions.body.data.length, 1);
      assert.equal(await currentId(api, ws.id), created.id);
      assert.equal((await api.get(`/state-versions/${created.id}/download`)).text, content);
      assert.deepEqual(await storedKeys(created.id), [`state-versions/${created.id}/state`], 'no copy of the losing uploads is kept');
    });

    it('lets only one of two concurrent versions with the same serial become current', async () => {
      const ws = await lockedWorkspace();
      const a = stateFile({ serial: 1, lineage: 'l', outputs: { v: { value: 'a', type: 'string' } } });
      const b = stateFile({ serial: 1, lineage: 'l', outputs: { v: { value: 'b', type: 'string' } } });
      const pa = await createPending(api, ws.id, a);
      const pb = await createPending(api, ws.id, b);
      const results = await Promise.all([put(api, pa.attributes['hosted-state-upload-url'], a), put(api, pb.attributes['hosted-state-upload-url'], b)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 409], results.map((r) => r.text).join('\n'));
      const winner = results[0].status === 200 ? pa : pb;
      assert.equal(await currentId(api, ws.id), winner.id);
      const statuses = await api.get(`/workspaces/${ws.id}/state-versions`);
      assert.deepEqual(statuses.body.data.map((v: Json) => v.attributes.status).sort(), ['discarded', 'finalized']);
    });

    it('refuses an upload that announces more than the size limit with 413', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const created = await createPending(api, ws.id, content);
      const res = await api.request('PUT', created.attributes['hosted-state-upload-url'], {
        token: null,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(600 * 1024 * 1024) },
      });
      assertError(res, 413, /a state file may be at most \d+ bytes/);
      assert.equal((await api.get(`/state-versions/${created.id}`)).body.data.attributes.status, 'pending');
    });

    it('rejects a JSON state upload that is not a JSON object with 422', async () => {
      const ws = await lockedWorkspace();
      const created = await createPending(api, ws.id, stateFile({ serial: 1, lineage: 'l' }));
      assertError(await put(api, created.attributes['hosted-json-state-upload-url'], '{oops'), 422, /the JSON state is not valid JSON/);
      assert.equal((await api.get(`/state-versions/${created.id}`)).body.data.attributes['hosted-json-state-download-url'], null);
    });

    it('rejects invalid documents with 422 naming the attribute', async () => {
      const ws = await lockedWorkspace();
      const ok = { serial: 1, lineage: 'l', md5: md5('x') };
      const cases: Array<[Json, RegExp, string]> = [
        [versionDoc({ lineage: 'l', md5: md5('x') }), /attribute "serial" is required/, '/data/attributes/serial'],
        [versionDoc({ serial: 1, lineage: 'l' }), /attribute "md5" is required/, '/data/attributes/md5'],
        [versionDoc({ ...ok, serial: -1 }), /attribute "serial" must be a whole number of at least 0/, '/data/attributes/serial'],
        [versionDoc({ ...ok, serial: 1.5 }), /attribute "serial" must be a whole number/, '/data/attributes/serial'],
        [versionDoc({ ...ok, serial: '1' }), /attribute "serial" must be a whole number/, '/data/attributes/serial'],
        [versionDoc({ ...ok, md5: 'abc' }), /attribute "md5" must be the MD5 of the state file/, '/data/attributes/md5'],
        [versionDoc({ ...ok, force: 'yes' }), /attribute "force" must be boolean/, '/data/attributes/force'],
        [versionDoc({ ...ok, state: 'not base64!' }), /attribute "state" must be base64/, '/data/attributes/state'],
        [versionDoc({ ...ok, 'json-state-outputs': b64('nope') }), /json-state-outputs is not valid JSON/, '/data/attributes/json-state-outputs'],
        [versionDoc({ ...ok, 'json-state': b64('[1]') }), /the JSON state must be a JSON object/, '/data/attributes/json-state'],
        [{ data: { type: 'workspaces', attributes: ok } }, /data.type must be "state-versions"/, '/data/type'],
        [versionDoc(ok, { run: { data: { type: 'plans', id: 'plan-1' } } }), /relationship "run.data.type" must be "runs"/, '/data/relationships/run/data/type'],
        [versionDoc(ok, { run: { data: { type: 'runs' } } }), /relationship "run.data.id" is required/, '/data/relationships/run/data/id'],
      ];
      for (const [doc, detail, pointer] of cases) {
        assertError(await api.post(`/workspaces/${ws.id}/state-versions`, doc), 422, detail, { pointer });
      }
      assertError(await api.request('POST', `/workspaces/${ws.id}/state-versions`, { raw: '{"data":' }), 400, /malformed JSON/);
      assert.equal((await api.get(`/workspaces/${ws.id}/state-versions`)).body.data.length, 0);
    });

    it('answers 401 without a token, 404 for an unknown workspace and for one of another organization', async () => {
      const ws = await lockedWorkspace();
      const content = stateFile({ serial: 1, lineage: 'l' });
      const doc = versionDoc({ serial: 1, lineage: 'l', md5: md5(content) });
      assertError(await api.post(`/workspaces/${ws.id}/state-versions`, doc, { token: null }), 401, /missing bearer token/);
      assertError(await api.post('/workspaces/ws-doesnotexist00/state-versions', doc), 404, /not found/);
      const other = await createOrganization(api);
      const token = await organizationToken(api, other);
      assertError(await token.post(`/workspaces/${ws.id}/state-versions`, doc), 404, /not found/);
      assert.equal((await api.get(`/workspaces/${ws.id}/state-versions`)).body.data.length, 0);
    });
  });

  describe('reading', function () {
    let ws: Json;
    let versions: Json[];
    const lineage = 'reading-lineage';

    before(async () => {
      ws = await lockedWorkspace();
      versions = [];
      for (const serial of [1, 2, 3]) versions.push(await push(api, ws.id, stateFile({ serial, lineage })));
    });

    it('shows the current version (200, with the snapshot interval header)', async () => {
      const res = await api.get(`/workspaces/${ws.id}/current-state-version`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-terraform-snapshot-interval'], '300');
      assert.equal(res.body.data.id, versions[2].id);
      assert.equal(res.body.data.attributes.serial, 3);
    });

    it('answers 404 for the current version of a workspace without state', async () => {
      const empty = await createWorkspace(api, org);
      assertError(await api.get(`/workspaces/${empty.id}/current-state-version`), 404, /has no state yet/);
    });

    it("lists a workspace's versions newest first, with pagination", async () => {
      const res = await api.get(`/workspaces/${ws.id}/state-versions`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.data.map((v: Json) => v.attributes.serial),
        [3, 2, 1],
      );
      assert.equal(res.body.meta.pagination['total-count'], 3);
      const page = await api.get(`/workspaces/${ws.id}/state-versions?page[size]=2&page[number]=2`);
      assert.deepEqual(
        page.body.data.map((v: Json) => v.id),
        [versions[0].id],
      );
      assert.equal(page.body.meta.pagination['total-pages'], 2);
    });

    it('lists versions by organization and workspace name with filter[...][name]', async () => {
      const res = await api.get(`/state-versions?filter[organization][name]=${org}&filter[workspace][name]=${ws.attributes.name}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.data.map((v: Json) => v.id),
        [versions[2].id, versions[1].id, versions[0].id],
      );
    });

    it('requires both filters of the state version list (400 naming the parameter)', async () => {
      assertError(await api.get(`/state-versions?filter[workspace][name]=${ws.attributes.name}`), 400, /filter\[organization\]\[name\] is required/, {
        parameter: 'filter[organization][name]',
      });
      assertError(await api.get(`/state-versions?filter[organization][name]=${org}`), 400, /filter\[workspace\]\[name\] is required/, {
        parameter: 'filter[workspace][name]',
      });
      assertError(await api.get(`/state-versions?filter[organization][name]=${org}&filter[workspace][name]=nope`), 404, /not found/);
    });

    it('downloads a version byte for byte as application/json, with the bearer token only', async () => {
      const content = stateFile({ serial: 4, lineage, outputs: { s: { value: 'ünïcödé ✓', type: 'string' } } });
      const version = await push(api, ws.id, content);
      const res = await api.get(version.attributes['hosted-state-download-url']);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(content)));
      assert.equal(res.text, content);
      assertError(await api.get(version.attributes['hosted-state-download-url'], { token: null }), 401, /missing bearer token/);
    });

    it('answers 404 for downloading a version that has no state file yet', async () => {
      const pending = await createPending(api, ws.id, stateFile({ serial: 9, lineage }));
      assertError(await api.get(`/state-versions/${pending.id}/download`), 404, /has no state file: it is pending/);
      assertError(await api.get(`/state-versions/${pending.id}/json-download`), 404, /has no JSON state/);
    });

    it("answers 404 for another organization's versions, outputs and downloads, and for unknown ids", async () => {
      const other = await createOrganization(api);
      const token = await organizationToken(api, other);
      const id = versions[0].id;
      for (const path of [
        `/state-versions/${id}`,
        `/state-versions/${id}/download`,
        `/state-versions/${id}/outputs`,
        `/workspaces/${ws.id}/current-state-version`,
        `/workspaces/${ws.id}/current-state-version-outputs`,
        `/workspaces/${ws.id}/state-versions`,
        `/state-versions?filter[organization][name]=${org}&filter[workspace][name]=${ws.attributes.name}`,
      ]) {
        assertError(await token.get(path), 404, /not found/);
      }
      assertError(await token.post(`/state-versions/${id}/actions/rollback`), 404, /not found/);
      assertError(await api.get('/state-versions/sv-doesnotexist0000'), 404, /state version "sv-doesnotexist0000" not found/);
      assertError(await api.get('/state-version-outputs/wsout-doesnotexist00'), 404, /not found/);
    });

    it('answers 401 for reads without a token', async () => {
      assertError(await api.get(`/state-versions/${versions[0].id}`, { token: null }), 401, /missing bearer token/);
      assertError(await api.get(`/workspaces/${ws.id}/current-state-version`, { token: null }), 401, /missing bearer token/);
    });
  });

  describe('outputs', function () {
    let ws: Json;
    let version: Json;

    before(async () => {
      ws = await lockedWorkspace();
      version = await push(
        api,
        ws.id,
        stateFile({
          serial: 1,
          lineage: 'outputs',
          outputs: {
            name: { value: 'web', type: 'string' },
            port: { value: 8080, type: 'number' },
            enabled: { value: true, type: 'bool' },
            zones: { value: [1, 2, 3], type: ['list', 'number'] },
            server: { value: { host: 'h', tags: ['a'] }, type: ['object', { host: 'string', tags: ['list', 'string'] }] },
            password: { value: 's3cr3t', type: 'string', sensitive: true },
          },
        }),
      );
    });

    function byName(res: Response): Record<string, Json> {
      assert.equal(res.status, 200, res.text);
      const out: Record<string, Json> = {};
      for (const o of res.body.data) {
        assert.equal(o.type, 'state-version-outputs');
        assert.match(o.id, /^wsout-/);
        out[o.attributes.name] = o.attributes;
      }
      return out;
    }

    it('includes the outputs in a state version with include=outputs, sensitive values as null', async () => {
      const ws = await lockedWorkspace();
      const v = await push(
        api,
        ws.id,
        stateFile({ serial: 1, lineage: 'inc', outputs: { plain: { value: 'p', type: 'string' }, secret: { value: 's3cr3t', type: 'string', sensitive: true } } }),
      );
      for (const path of [`/state-versions/${v.id}?include=outputs`, `/workspaces/${ws.id}/current-state-version?include=outputs`]) {
        const res = await api.get(path);
        assert.equal(res.status, 200, res.text);
        const included = res.body.included as Json[];
        assert.equal(included.length, 2, path);
        assert.deepEqual(included.map((o) => o.type), ['state-version-outputs', 'state-version-outputs']);
        assert.deepEqual(new Set(included.map((o) => o.id)), new Set(res.body.data.relationships.outputs.data.map((o: Json) => o.id)));
        assert.equal(included.find((o) => o.attributes.name === 'plain').attributes.value, 'p');
        assert.equal(included.find((o) => o.attributes.name === 'secret').attributes.value, null);
        assert.ok(!res.text.includes('s3cr3t'));
      }
      assert.equal((await api.get(`/state-versions/${v.id}`)).body.included, undefined);
    });

    it("includes the workspace's outputs (its current state's) with include=outputs on the workspace, as go-tfe reads them", async () => {
      const res = await api.get(`/workspaces/${ws.id}?include=outputs`);
      assert.equal(res.status, 200, res.text);
      const included = res.body.included as Json[];
      assert.deepEqual(
        included.map((o) => o.type),
        included.map(() => 'workspace-outputs'),
      );
      assert.deepEqual(
        res.body.data.relationships.outputs.data,
        included.map((o) => ({ type: 'workspace-outputs', id: o.id })),
      );
      const byName = Object.fromEntries(included.map((o) => [o.attributes.name, o.attributes]));
      assert.deepEqual(Object.keys(byName).sort(), ['enabled', 'name', 'password', 'port', 'server', 'zones']);
      assert.deepEqual(byName.port, { name: 'port', sensitive: false, 'output-type': 'number', value: 8080 });
      assert.deepEqual(byName.zones, { name: 'zones', sensitive: false, 'output-type': 'array', value: [1, 2, 3] });
      assert.deepEqual(byName.password, { name: 'password', sensitive: true, 'output-type': 'string', value: null });
      assert.ok(!res.text.includes('s3cr3t'));
      // The same ids as the state version's outputs; without include= only the relationship.
      const svOutputs = await api.get(`/state-versions/${version.id}/outputs`);
      assert.deepEqual(new Set(included.map((o) => o.id)), new Set(svOutputs.body.data.map((o: Json) => o.id)));
      const plain = await api.get(`/workspaces/${ws.id}`);
      assert.equal(plain.body.included, undefined);
      assert.equal(plain.body.data.relationships.outputs.data.length, 6);
    });

    it('shows no outputs for a workspace without state, and none to an organization token of another organization (404)', async () => {
      const empty = await createWorkspace(api, org);
      const res = await api.get(`/workspaces/${empty.id}?include=outputs`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data.relationships.outputs.data, []);
      assert.deepEqual(res.body.included ?? [], []);
      const other = await organizationToken(api, await createOrganization(api));
      const denied = await other.get(`/workspaces/${ws.id}?include=outputs`);
      assert.equal(denied.status, 404, denied.text);
      assert.ok(!denied.text.includes('8080'));
    });

    it('lists the outputs of the current version with types, and sensitive values as null', async () => {
      const res = await api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
      const outputs = byName(res);
      assert.equal(res.body.meta.pagination['total-pages'], 1);
      assert.equal(res.body.meta.pagination['total-count'], 6);
      assert.deepEqual(outputs.name, { name: 'name', sensitive: false, type: 'string', value: 'web', 'detailed-type': 'string' });
      assert.deepEqual(outputs.port, { name: 'port', sensitive: false, type: 'number', value: 8080, 'detailed-type': 'number' });
      assert.deepEqual(outputs.enabled, { name: 'enabled', sensitive: false, type: 'bool', value: true, 'detailed-type': 'bool' });
      assert.deepEqual(outputs.zones, { name: 'zones', sensitive: false, type: 'array', value: [1, 2, 3], 'detailed-type': ['list', 'number'] });
      assert.deepEqual(outputs.server, {
        name: 'server',
        sensitive: false,
        type: 'object',
        value: { host: 'h', tags: ['a'] },
        'detailed-type': ['object', { host: 'string', tags: ['list', 'string'] }],
      });
      assert.deepEqual(outputs.password, { name: 'password', sensitive: true, type: 'string', value: null, 'detailed-type': 'string' });
    });

    it("lists a version's outputs the same way, all on the first page", async () => {
      const outputs = byName(await api.get(`/state-versions/${version.id}/outputs`));
      assert.equal(Object.keys(outputs).length, 6);
      assert.equal(outputs.password.value, null);
      assert.equal(outputs.name.value, 'web');
      const ids = version.relationships.outputs.data.map((o: Json) => o.id).sort();
      assert.equal(ids.length, 6);
    });

    it('shows one output with its value, sensitive ones included', async () => {
      const list = byName(await api.get(`/state-versions/${version.id}/outputs`));
      const all = (await api.get(`/state-versions/${version.id}/outputs`)).body.data as Json[];
      const password = all.find((o) => o.attributes.name === 'password');
      const res = await api.get(`/state-version-outputs/${password.id}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.type, 'state-version-outputs');
      assert.equal(res.body.data.id, password.id);
      assert.deepEqual(res.body.data.attributes, { name: 'password', sensitive: true, type: 'string', value: 's3cr3t', 'detailed-type': 'string' });
      assert.equal(list.password.value, null);

      const other = await createOrganization(api);
      const token = await organizationToken(api, other);
      assertError(await token.get(`/state-version-outputs/${password.id}`), 404, /not found/);
      assertError(await api.get(`/state-version-outputs/${password.id}`, { token: null }), 401, /missing bearer token/);
    });

    it('answers 200 with no outputs for a workspace without state', async () => {
      const empty = await createWorkspace(api, org);
      const res = await api.get(`/workspaces/${empty.id}/current-state-version-outputs`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data, []);
    });

    it('takes missing output types from json-state-outputs, and otherwise leaves detailed-type null', async () => {
      const w = await lockedWorkspace();
      const content = JSON.stringify({ version: 4, serial: 1, lineage: 'l', outputs: { a: { value: 'x' }, b: { value: [1] } } });
      const declared = b64(JSON.stringify({ a: { sensitive: false, value: 'x', type: 'string' } }));
      const created = await createPending(api, w.id, content, { 'json-state-outputs': declared });
      assert.equal((await put(api, created.attributes['hosted-state-upload-url'], content)).status, 200);
      const outputs = byName(await api.get(`/workspaces/${w.id}/current-state-version-outputs`));
      assert.equal(outputs.a['detailed-type'], 'string');
      assert.equal(outputs.b['detailed-type'], null);
      assert.equal(outputs.b.type, 'array');
    });
  });

  describe('rollback', function () {
    it('creates a new current version with the old content under serial current+1', async () => {
      const ws = await lockedWorkspace();
      // A number beyond double precision must survive the rewrite untouched.
      const old = stateFile({ serial: 1, lineage: 'rb', outputs: { v: { value: 'one', type: 'string' } } }).replace(
        '"check_results": null',
        '"check_results": null,\n  "big": 12345678901234567890123',
      );
      const first = await push(api, ws.id, old);
      await push(api, ws.id, stateFile({ serial: 2, lineage: 'rb', outputs: { v: { value: 'two', type: 'string' } } }));
      await push(api, ws.id, stateFile({ serial: 3, lineage: 'rb', outputs: { v: { value: 'three', type: 'string' } } }));

      const res = await api.post(`/state-versions/${first.id}/actions/rollback`);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers['x-terraform-snapshot-interval'], '300');
      const rolled = res.body.data;
      assert.notEqual(rolled.id, first.id);
      assert.equal(rolled.attributes.status, 'finalized');
      assert.equal(rolled.attributes.serial, 4);
      assert.equal(rolled.attributes.lineage, 'rb');
      const expected = old.replace('"serial": 1,', '"serial": 4,');
      assert.equal(rolled.attributes.md5, md5(expected));
      assert.equal(await currentId(api, ws.id), rolled.id);
      assert.equal((await api.get(`/state-versions/${rolled.id}/download`)).text, expected);
      const outputs = await api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
      assert.equal(outputs.body.data[0].attributes.value, 'one');

      // terraform carries on from the restored state: serial 5 follows.
      const next = await push(api, ws.id, stateFile({ serial: 5, lineage: 'rb' }));
      assert.equal(await currentId(api, ws.id), next.id);
    });

    it('is allowed on an unlocked workspace and refused (409) while somebody else holds the lock', async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 1, lineage: 'rb' }));
      const second = await push(api, ws.id, stateFile({ serial: 2, lineage: 'rb' }));
      await unlock(api, ws.id);
      const token = await organizationToken(api, org);
      await lock(token, ws.id);
      assertError(await api.post(`/state-versions/${first.id}/actions/rollback`), 409, new RegExp(`is locked by User api-org-${org}`));
      assert.equal(await currentId(api, ws.id), second.id);
      await unlock(token, ws.id);
      const res = await api.post(`/state-versions/${first.id}/actions/rollback`);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.attributes.serial, 3);
    });

    it("answers Terraform Cloud's route, PATCH /workspaces/:id/state-versions, with the same rollback", async () => {
      const ws = await lockedWorkspace();
      const first = await push(api, ws.id, stateFile({ serial: 1, lineage: 'rb', outputs: { v: { value: 'one', type: 'string' } } }));
      await push(api, ws.id, stateFile({ serial: 2, lineage: 'rb', outputs: { v: { value: 'two', type: 'string' } } }));
      const doc = (id: string) => ({ data: { type: 'state-versions', relationships: { 'rollback-state-version': { data: { type: 'state-versions', id } } } } });
      const res = await api.patch(`/workspaces/${ws.id}/state-versions`, doc(first.id));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.attributes.serial, 3);
      assert.equal(await currentId(api, ws.id), res.body.data.id);
      const outputs = await api.get(`/workspaces/${ws.id}/current-state-version-outputs`);
      assert.equal(outputs.body.data[0].attributes.value, 'one');

      // A version of another workspace is not this workspace's to restore; another organization's workspace is not there.
      const other = await lockedWorkspace();
      const foreign = await push(api, other.id, stateFile({ serial: 1, lineage: 'x' }));
      assertError(await api.patch(`/workspaces/${ws.id}/state-versions`, doc(foreign.id)), 422, /does not exist in workspace/, { pointer: '/data/relationships/rollback-state-version/data/id' });
      const elsewhere = await createWorkspace(api, await createOrganization(api));
      const reader = await userWithAccess(api, org, [ws.id], 'read');
      assertError(await reader.client.patch(`/workspaces/${elsewhere.id}/state-versions`, doc(first.id)), 404, /not found/);
      assertError(await reader.client.patch(`/workspaces/${ws.id}/state-versions`, doc(first.id)), 403, /roll back state/);
      // Hostile bodies: no relationship, a wrong type, NUL bytes, malformed JSON.
      assertError(await api.patch(`/workspaces/${ws.id}/state-versions`, { data: { type: 'state-versions' } }), 422, /data\.relationships is required/);
      assertError(await api.patch(`/workspaces/${ws.id}/state-versions`, { data: { type: 'state-versions', relationships: { 'rollback-state-version': { data: { type: 'runs', id: first.id } } } } }), 422, /must be "state-versions"/);
      assert.ok([400, 422].includes((await api.patch(`/workspaces/${ws.id}/state-versions`, doc('sv-\u0000'))).status));
      assert.equal((await api.request('PATCH', `/workspaces/${ws.id}/state-versions`, { raw: '{"data":' })).status, 400);
      assert.equal(await currentId(api, ws.id), res.body.data.id, 'nothing changed');
    });

    it('refuses to roll back to a version that is not finalized (409)', async () => {
      const ws = await lockedWorkspace();
      const pending = await createPending(api, ws.id, stateFile({ serial: 1, lineage: 'rb' }));
      assertError(await api.post(`/state-versions/${pending.id}/actions/rollback`), 409, /it is pending, and only a finalized version can be restored/);
      assert.equal(await currentId(api, ws.id), null);
    });
  });

  describe('hooks for other domains', function () {
    let state: StateService;

    before(() => {
      const db = server.otfd.db;
      const orgs = new OrganizationService(db);
      state = new StateService(db, new PostgresBlobStore(db), new WorkspaceService(db, orgs, new ProjectService(db, orgs), { engine: 'terraform', versions: { terraform: '1.11.4', tofu: '1.6.2' } }, new SubjectCache()));
    });

    it('tells whether the current state holds managed resources, and which version is current', async () => {
      const ws = await lockedWorkspace();
      assert.equal(await state.hasResources(ws.id), false);
      assert.equal(await state.currentVersionId(ws.id), null);

      const onlyData = await push(api, ws.id, stateFile({ serial: 1, lineage: 'h', resources: [dataResource] }));
      assert.equal(await state.hasResources(ws.id), false, 'data sources are not managed resources');
      assert.equal(await state.currentVersionId(ws.id), onlyData.id);

      const managed = await push(api, ws.id, stateFile({ serial: 2, lineage: 'h', resources: [managedResource, dataResource] }));
      assert.equal(await state.hasResources(ws.id), true);
      assert.equal(await state.currentVersionId(ws.id), managed.id);

      // A pending version changes nothing until its state arrives.
      await createPending(api, ws.id, stateFile({ serial: 3, lineage: 'h' }));
      assert.equal(await state.hasResources(ws.id), true);
      assert.equal(await state.currentVersionId(ws.id), managed.id);

      const emptied = await push(api, ws.id, stateFile({ serial: 3, lineage: 'h' }));
      assert.equal(await state.hasResources(ws.id), false);
      assert.equal(await state.currentVersionId(ws.id), emptied.id);
    });
  });
});
