// Configuration versions as a client sees them over HTTP: creating one, uploading its tarball to the
// signed upload URL (once, unsigned requests refused), downloading it back, archives that are
// refused before anything is stored (entries out of the root, links out of it, device files,
// FIFOs, not a tarball, too large packed or unpacked), auto-queue-runs, and what another
// organization may not see. No run executes here: the server has no runner (concurrency 0).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { Api, Json } from './helpers/api.js';
import { assertError } from './helpers/assert.js';
import { fixture, fixtureFiles } from './helpers/fixtures.js';
import { organizationToken, userWithAccess } from './helpers/people.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, rawRequest, tarball, uploadTarball, type RawResponse, type TarEntry } from './helpers/tarball.js';

const MAIN_TF = fixture('one-resource');

function cvDoc(attributes: Record<string, unknown> = {}): Json {
  return { data: { type: 'configuration-versions', attributes } };
}

async function createCv(api: Api, wsId: string, attributes: Record<string, unknown> = { 'auto-queue-runs': false }): Promise<Json> {
  const res = await api.post(`/workspaces/${wsId}/configuration-versions`, cvDoc(attributes));
  assert.equal(res.status, 201, res.text);
  return res.body.data;
}

async function showCv(api: Api, id: string): Promise<Json> {
  const res = await api.get(`/configuration-versions/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

async function runsOf(api: Api, wsId: string): Promise<Json[]> {
  const res = await api.get(`/workspaces/${wsId}/runs`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

function runDoc(wsId: string, cvId?: string, attributes: Record<string, unknown> = {}): Json {
  const relationships: Json = { workspace: { data: { type: 'workspaces', id: wsId } } };
  if (cvId) relationships['configuration-version'] = { data: { type: 'configuration-versions', id: cvId } };
  return { data: { type: 'runs', attributes, relationships } };
}

/** Asserts the upload was refused and left the version errored with the reason and nothing stored. */
async function assertRejectedUpload(api: Api, cvId: string, put: RawResponse, status: number, detail: RegExp): Promise<void> {
  assertError(put, status, detail);
  const cv = await showCv(api, cvId);
  assert.equal(cv.attributes.status, 'errored');
  assert.match(cv.attributes['error-message'], detail, 'error-message of the configuration version');
  assert.equal(cv.attributes['upload-url'], null, 'an errored version takes no further upload');
  const download = await api.get(`/configuration-versions/${cvId}/download`);
  assertError(download, 404, /errored/);
}

describe('configuration versions API', function () {
  let server: TestServer;
  let api: Api;
  let org: string;

  before(async () => {
    server = await startServer();
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  describe('create', function () {
    let ws: Json;
    before(async () => {
      ws = await createWorkspace(api, org);
    });

    it('answers 201 with a pending version and an absolute signed upload URL', async () => {
      const res = await api.post(`/workspaces/${ws.id}/configuration-versions`, cvDoc({ 'auto-queue-runs': false, speculative: true, provisional: false }));
      assert.equal(res.status, 201, res.text);
      const data = res.body.data;
      assert.equal(data.type, 'configuration-versions');
      assert.match(data.id, /^cv-/);
      const a = data.attributes;
      assert.equal(a.status, 'pending');
      assert.equal(a['auto-queue-runs'], false);
      assert.equal(a.speculative, true);
      assert.equal(a.provisional, false);
      assert.equal(a['error-message'], null);
      const url = new URL(a['upload-url']);
      assert.equal(url.origin, server.url, 'the upload URL is absolute, on this server');
      assert.match(url.pathname, new RegExp(`^/_signed/.*${data.id}`));

      // As in TFC, only the answer to the create carries the upload URL; reading it again does not.
      const shown = await showCv(api, data.id);
      assert.equal(shown.attributes.status, 'pending');
      assert.equal(shown.attributes.speculative, true);
      assert.equal(shown.attributes['upload-url'], null);
      const listed = await api.get(`/workspaces/${ws.id}/configuration-versions`);
      assert.equal((listed.body.data as Json[]).find((cv) => cv.id === data.id)?.attributes['upload-url'], null);
      // and a pending version is already the workspace's current one
      const current = await api.get(`/workspaces/${ws.id}`);
      assert.equal(current.body.data.relationships['current-configuration-version'].data?.id, data.id);
    });

    it('echoes provisional and defaults to auto-queue-runs, neither speculative nor provisional', async () => {
      const current = await createCv(api, ws.id);
      const provisional = await createCv(api, ws.id, { 'auto-queue-runs': false, provisional: true });
      assert.equal(provisional.attributes.provisional, true);
      assert.equal(provisional.attributes.speculative, false);
      // a provisional version does not become the workspace's current one (TFC)
      const shown = await api.get(`/workspaces/${ws.id}`);
      assert.equal(shown.body.data.relationships['current-configuration-version'].data?.id, current.id);

      const res = await api.post(`/workspaces/${ws.id}/configuration-versions`, cvDoc());
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.attributes['auto-queue-runs'], true);
      assert.equal(res.body.data.attributes.speculative, false);
      assert.equal(res.body.data.attributes.provisional, false);
    });

    it('lists the versions of the workspace, newest first', async () => {
      const a = await createCv(api, ws.id);
      const b = await createCv(api, ws.id);
      const res = await api.get(`/workspaces/${ws.id}/configuration-versions`);
      assert.equal(res.status, 200, res.text);
      const ids = (res.body.data as Json[]).map((cv) => cv.id);
      assert.ok(ids.indexOf(b.id) >= 0 && ids.indexOf(b.id) < ids.indexOf(a.id), `expected ${b.id} before ${a.id} in ${ids.join(', ')}`);
    });

    it('rejects an attribute of the wrong type with 422 and creates nothing', async () => {
      const before = (await api.get(`/workspaces/${ws.id}/configuration-versions`)).body.meta.pagination['total-count'];
      const res = await api.post(`/workspaces/${ws.id}/configuration-versions`, cvDoc({ speculative: 'yes' }));
      assertError(res, 422, /attribute "speculative" must be boolean/, { pointer: '/data/attributes/speculative' });
      const after = (await api.get(`/workspaces/${ws.id}/configuration-versions`)).body.meta.pagination['total-count'];
      assert.equal(after, before);
    });

    it('answers 404 for an unknown workspace and 401 without a token', async () => {
      assertError(await api.post('/workspaces/ws-doesnotexist/configuration-versions', cvDoc()), 404, /ws-doesnotexist/);
      assertError(await api.post(`/workspaces/${ws.id}/configuration-versions`, cvDoc(), { token: null }), 401, /token/);
    });
  });

  describe('upload and download', function () {
    let ws: Json;
    before(async () => {
      ws = await createWorkspace(api, org);
    });

    it('takes a good tarball (200), marks the version uploaded and gives the same bytes back', async () => {
      const cv = await createCv(api, ws.id);
      const archive = configTarball(fixtureFiles('one-resource-and-module'));
      const put = await uploadTarball(api, cv, archive);
      assert.equal(put.status, 200, put.text);

      const shown = await showCv(api, cv.id);
      assert.equal(shown.attributes.status, 'uploaded');
      assert.equal(shown.attributes['error-message'], null);
      assert.equal(shown.attributes.size, archive.length);
      assert.ok(shown.attributes['status-timestamps']['uploaded-at'], 'uploaded-at is set');

      const download = await rawRequest(api, 'GET', `/configuration-versions/${cv.id}/download`, { token: true });
      assert.equal(download.status, 200, download.text);
      assert.ok(download.bytes.equals(archive), 'the download is byte for byte the upload');
    });

    it('answers a second upload 200, as TFC, and keeps the first: an uploaded configuration never changes', async () => {
      const cv = await createCv(api, ws.id);
      const first = configTarball({ 'main.tf': MAIN_TF });
      assert.equal((await uploadTarball(api, cv, first)).status, 200);
      const second = await uploadTarball(api, cv, configTarball({ 'main.tf': '# replaced\n' }));
      assert.equal(second.status, 200, second.text);
      const download = await rawRequest(api, 'GET', `/configuration-versions/${cv.id}/download`, { token: true });
      assert.ok(download.bytes.equals(first), 'the first upload is still the configuration');
      assert.equal((await showCv(api, cv.id)).attributes.status, 'uploaded');
    });

    it('refuses an upload URL with a tampered signature with a 404 error and stores nothing', async () => {
      const cv = await createCv(api, ws.id);
      const url: string = cv.attributes['upload-url'];
      const last = url.slice(-1);
      const tampered = url.slice(0, -1) + (last === 'A' ? 'B' : 'A');
      const put = await uploadTarball(api, tampered, configTarball({ 'main.tf': MAIN_TF }));
      assertError(put, 404, /upload URL is invalid or has expired/);

      // another version's signature does not open this one either
      const other = await createCv(api, ws.id);
      const borrowed = url.replace(cv.id, other.id);
      assertError(await uploadTarball(api, borrowed, configTarball({ 'main.tf': MAIN_TF })), 404, /upload URL is invalid/);

      assert.equal((await showCv(api, cv.id)).attributes.status, 'pending');
      assert.equal((await showCv(api, other.id)).attributes.status, 'pending');
      // the genuine URL still works
      assert.equal((await uploadTarball(api, cv, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
    });

    it('keeps a version pending when its upload is cut off, so that the client can upload again', async () => {
      const cv = await createCv(api, ws.id);
      const archive = configTarball({ 'main.tf': MAIN_TF, 'big.txt': crypto.randomBytes(64 * 1024).toString('hex') });
      // the connection drops after half of the body
      await new Promise<void>((resolve) => {
        const req = http.request(cv.attributes['upload-url'], {
          method: 'PUT',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(archive.length) },
          agent: false,
        });
        req.on('error', () => resolve());
        req.on('response', (res) => {
          res.resume();
          resolve();
        });
        req.write(archive.subarray(0, archive.length >> 1), () => setTimeout(() => req.destroy(), 50));
      });
      const pending = await showCv(api, cv.id);
      assert.equal(pending.attributes.status, 'pending', `after a cut-off upload: ${JSON.stringify(pending.attributes)}`);
      // the CLI retries the PUT after a connection error
      const retry = await uploadTarball(api, cv, archive);
      assert.equal(retry.status, 200, retry.text);
      const download = await rawRequest(api, 'GET', `/configuration-versions/${cv.id}/download`, { token: true });
      assert.ok(download.bytes.equals(archive), 'the retried upload is stored whole');
    });

    it('answers 404 to a download before the upload, as TFC', async () => {
      const cv = await createCv(api, ws.id);
      assertError(await api.get(`/configuration-versions/${cv.id}/download`), 404, /pending/);
    });

    it('answers 404 for an unknown configuration version', async () => {
      assertError(await api.get('/configuration-versions/cv-doesnotexist'), 404, /cv-doesnotexist/);
      assertError(await api.get('/configuration-versions/cv-doesnotexist/download'), 404, /cv-doesnotexist/);
    });
  });

  describe('unsafe archives', function () {
    let ws: Json;
    before(async () => {
      ws = await createWorkspace(api, org);
    });

    const good: TarEntry = { type: 'file', name: 'main.tf', content: MAIN_TF };
    const cases: Array<{ name: string; body: () => Buffer; detail: RegExp }> = [
      {
        name: 'an entry that climbs out with ../',
        body: () => tarball([good, { type: 'file', name: '../x', content: 'escaped\n' }]),
        detail: /entry "\.\.\/x" contains "\.\."/,
      },
      {
        name: 'an entry that climbs out in the middle of its path',
        body: () => tarball([good, { type: 'file', name: 'a/../../x', content: 'escaped\n' }]),
        detail: /entry "a\/\.\.\/\.\.\/x" contains "\.\."/,
      },
      {
        name: 'an absolute path',
        body: () => tarball([good, { type: 'file', name: '/etc/passwd', content: 'root::0:0::/:/bin/sh\n' }]),
        detail: /entry "\/etc\/passwd" is an absolute path/,
      },
      {
        name: 'a symlink escaping the root',
        body: () => tarball([good, { type: 'symlink', name: 'link', target: '../../etc' }]),
        detail: /symlink "link" points to "\.\.\/\.\.\/etc", outside the configuration directory/,
      },
      {
        name: 'a symlink to an absolute path',
        body: () => tarball([good, { type: 'symlink', name: 'passwd', target: '/etc/passwd' }]),
        detail: /symlink "passwd" points to the absolute path "\/etc\/passwd"/,
      },
      {
        name: 'a hard link escaping the root',
        body: () => tarball([good, { type: 'hardlink', name: 'evil', target: '../x' }]),
        detail: /hard link "evil".*"\.\.\/x" contains "\.\."/,
      },
      {
        name: 'a character device',
        body: () => tarball([good, { type: 'chardev', name: 'null', major: 1, minor: 3 }]),
        detail: /entry "null" is a CharacterDevice; only files, directories and links are allowed/,
      },
      {
        name: 'a FIFO',
        body: () => tarball([good, { type: 'fifo', name: 'pipe' }]),
        detail: /entry "pipe" is a FIFO; only files, directories and links are allowed/,
      },
      {
        name: 'a body that is not gzip at all',
        body: () => Buffer.from('terraform {\n}\n'),
        detail: /not a gzip-compressed tar archive/,
      },
    ];

    for (const c of cases) {
      it(`refuses ${c.name} (422), leaves the version errored with the reason and stores nothing`, async () => {
        const cv = await createCv(api, ws.id);
        const put = await uploadTarball(api, cv, c.body());
        await assertRejectedUpload(api, cv.id, put, 422, c.detail);
      });
    }

    it('accepts symlinks and hard links that stay inside the configuration', async () => {
      const cv = await createCv(api, ws.id);
      const put = await uploadTarball(
        api,
        cv,
        tarball([
          { type: 'dir', name: 'modules/' },
          { type: 'file', name: 'modules/shared.tf', content: 'locals {\n  a = 1\n}\n' },
          good,
          { type: 'symlink', name: 'modules/link.tf', target: 'shared.tf' },
          { type: 'symlink', name: 'modules/up.tf', target: '../main.tf' },
          { type: 'hardlink', name: 'copy.tf', target: 'main.tf' },
        ]),
      );
      assert.equal(put.status, 200, put.text);
      assert.equal((await showCv(api, cv.id)).attributes.status, 'uploaded');
    });

    it('refuses an unsafe archive without touching the other versions of the workspace', async () => {
      const kept = await createCv(api, ws.id);
      const archive = configTarball({ 'main.tf': MAIN_TF });
      assert.equal((await uploadTarball(api, kept, archive)).status, 200);
      const bad = await createCv(api, ws.id);
      assert.equal((await uploadTarball(api, bad, tarball([{ type: 'file', name: '../main.tf', content: '# overwritten\n' }]))).status, 422);
      const download = await rawRequest(api, 'GET', `/configuration-versions/${kept.id}/download`, { token: true });
      assert.ok(download.bytes.equals(archive));
    });
  });

  describe('size limit', function () {
    let small: TestServer;
    let ws: Json;
    before(async () => {
      small = await startServer({ config: { maxConfigSize: 1024 } });
      const smallOrg = await createOrganization(small.api);
      ws = await createWorkspace(small.api, smallOrg);
    });
    after(() => small.stop());

    it('refuses a packed upload larger than the limit with 413, leaves the version errored and the connection usable', async () => {
      const cv = await createCv(small.api, ws.id);
      // incompressible content: the tarball itself is far above the limit (a few MiB, as a careless upload would be)
      const noise = crypto.randomBytes(2 * 1024 * 1024);
      const archive = tarball([{ type: 'file', name: 'main.tf', content: MAIN_TF }, { type: 'file', name: 'blob.bin', content: noise.toString('base64') }]);
      const put = await uploadTarball(small.api, cv, archive);
      assertError(put, 413, /larger than the limit of 1024 bytes/);
      // A keep-alive client sends its next request on the same connection: it must get an answer,
      // not wait behind the rest of a body the server stopped reading.
      const next = await rawRequest(small.api, 'GET', `/configuration-versions/${cv.id}`, { token: true, timeoutMs: 3000 }).catch((err: Error) => err);
      assert.ok(!(next instanceof Error), `the request after the 413: ${next instanceof Error ? next.message : ''}`);
      assert.equal(next.status, 200, next.text);
      await assertRejectedUpload(small.api, cv.id, put, 413, /larger than the limit of 1024 bytes/);
    });

    it('refuses a small archive that unpacks past the limit with 422 and leaves the version errored', async () => {
      const cv = await createCv(small.api, ws.id);
      const archive = tarball([{ type: 'file', name: 'main.tf', content: MAIN_TF }, { type: 'file', name: 'zeros.txt', content: Buffer.alloc(64 * 1024) }]);
      assert.ok(archive.length < 1024, `the test archive is ${archive.length} bytes`);
      const put = await uploadTarball(small.api, cv, archive);
      await assertRejectedUpload(small.api, cv.id, put, 422, /unpacks to more than 1024 bytes/);
    });

    it('accepts an archive within the limit', async () => {
      const cv = await createCv(small.api, ws.id);
      const put = await uploadTarball(small.api, cv, configTarball({ 'main.tf': MAIN_TF }));
      assert.equal(put.status, 200, put.text);
      assert.equal((await showCv(small.api, cv.id)).attributes.status, 'uploaded');
    });
  });

  describe('auto-queue-runs', function () {
    it('queues a run on the uploaded configuration when true', async () => {
      const ws = await createWorkspace(api, org);
      const cv = await createCv(api, ws.id, { 'auto-queue-runs': true });
      assert.deepEqual(await runsOf(api, ws.id), [], 'no run before the upload');
      assert.equal((await uploadTarball(api, cv, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      const runs = await runsOf(api, ws.id);
      assert.equal(runs.length, 1, `one run after the upload: ${JSON.stringify(runs)}`);
      assert.equal(runs[0].relationships['configuration-version'].data.id, cv.id);
      assert.equal(runs[0].relationships.workspace.data.id, ws.id);
      assert.equal(runs[0].attributes['plan-only'], false);
      // it holds the workspace like any run; cancel it so nothing is left waiting
      const cancel = await api.post(`/runs/${runs[0].id}/actions/cancel`, {});
      assert.equal(cancel.status, 202, cancel.text);
    });

    it('queues nothing when false, nor for an upload that is refused', async () => {
      const ws = await createWorkspace(api, org);
      const off = await createCv(api, ws.id, { 'auto-queue-runs': false });
      assert.equal((await uploadTarball(api, off, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      const refused = await createCv(api, ws.id, { 'auto-queue-runs': true });
      assert.equal((await uploadTarball(api, refused, tarball([{ type: 'fifo', name: 'p' }]))).status, 422);
      assert.deepEqual(await runsOf(api, ws.id), []);
    });
  });

  describe('runs and configuration versions', function () {
    let ws: Json;
    before(async () => {
      ws = await createWorkspace(api, org);
    });

    it('refuses a run on an errored configuration version with 422 naming it and its reason', async () => {
      const cv = await createCv(api, ws.id);
      assert.equal((await uploadTarball(api, cv, tarball([{ type: 'file', name: '/etc/passwd', content: 'x' }]))).status, 422);
      const res = await api.post('/runs', runDoc(ws.id, cv.id));
      assertError(res, 422, new RegExp(`configuration version "${cv.id}" is errored.*absolute path`), { pointer: '/data/relationships/configuration-version' });
      assert.deepEqual(await runsOf(api, ws.id), []);
    });

    it('refuses a run on a configuration version still waiting for its upload with 422 naming it', async () => {
      const cv = await createCv(api, ws.id);
      const res = await api.post('/runs', runDoc(ws.id, cv.id));
      assertError(res, 422, new RegExp(`configuration version "${cv.id}" is still waiting for its upload`), {
        pointer: '/data/relationships/configuration-version',
      });
      assert.deepEqual(await runsOf(api, ws.id), []);
    });

    it("refuses a run on another workspace's configuration version with 422", async () => {
      const other = await createWorkspace(api, org);
      const cv = await createCv(api, other.id);
      assert.equal((await uploadTarball(api, cv, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      const res = await api.post('/runs', runDoc(ws.id, cv.id));
      assertError(res, 422, new RegExp(`configuration version "${cv.id}" does not belong to workspace`), { pointer: '/data/relationships/configuration-version' });
      assert.deepEqual(await runsOf(api, ws.id), []);
    });

    it('runs the newest uploaded configuration when the run names none, skipping refused and pending ones', async () => {
      const fresh = await createWorkspace(api, org);
      const uploaded = await createCv(api, fresh.id);
      assert.equal((await uploadTarball(api, uploaded, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      const refused = await createCv(api, fresh.id);
      assert.equal((await uploadTarball(api, refused, Buffer.from('not a tarball'))).status, 422);
      await createCv(api, fresh.id); // still pending
      const res = await api.post('/runs', runDoc(fresh.id));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.data.relationships['configuration-version'].data.id, uploaded.id);
      assert.equal((await api.post(`/runs/${res.body.data.id}/actions/cancel`, {})).status, 202);
    });
  });

  describe('archive', function () {
    /** A workspace with an uploaded version. */
    async function olderUploaded(): Promise<{ ws: Json; cv: Json; bytes: Buffer }> {
      const ws = await createWorkspace(api, org);
      const cv = await createCv(api, ws.id);
      const bytes = configTarball({ 'main.tf': MAIN_TF });
      assert.equal((await uploadTarball(api, cv, bytes)).status, 200);
      return { ws, cv, bytes };
    }
    const archive = (id: string, client = api) => client.post(`/configuration-versions/${id}/actions/archive`);
    /** A newer configuration version, uploaded: the older one is then neither current nor what new runs take. */
    async function newerUploaded(wsId: string): Promise<Json> {
      const newer = await createCv(api, wsId);
      assert.equal((await uploadTarball(api, newer, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      return newer;
    }

    it("refuses the workspace's current version with 422, as TFC, then archives it once a newer one exists: 202, archived, its tarball gone", async () => {
      const { ws, cv } = await olderUploaded();
      assertError(await archive(cv.id), 422, /transition not allowed: configuration could not be archived because it is current/);
      assert.equal((await showCv(api, cv.id)).attributes.status, 'uploaded');

      // A newer version still waiting for its upload: runs that name no configuration take this one, which stays.
      const newer = await createCv(api, ws.id);
      assertError(await archive(cv.id), 422, /because it is current/);
      const run = await api.post('/runs', runDoc(ws.id));
      assert.equal(run.status, 201, run.text);
      assert.equal(run.body.data.relationships['configuration-version'].data.id, cv.id);
      assert.equal((await api.post(`/runs/${run.body.data.id}/actions/cancel`, {})).status, 202);

      assert.equal((await uploadTarball(api, newer, configTarball({ 'main.tf': MAIN_TF }))).status, 200);
      const res = await archive(cv.id);
      assert.equal(res.status, 202, res.text);
      assert.equal(res.text, '');
      const archived = await showCv(api, cv.id);
      assert.equal(archived.attributes.status, 'archived');
      assert.ok(archived.attributes['status-timestamps']['archived-at'], 'archived-at is set');
      assertError(await api.get(`/configuration-versions/${cv.id}/download`), 404, /archived/);
      assertError(await api.post('/runs', runDoc(ws.id, cv.id)), 422, new RegExp(`configuration version "${cv.id}" is archived`));
      // archiving again is refused: there is nothing left to archive
      assertError(await archive(cv.id), 422, /because it is archived, not uploaded/);
    });

    it('refuses a pending version, and one whose run has not finished (until the run ends)', async () => {
      const ws = await createWorkspace(api, org);
      const pending = await createCv(api, ws.id);
      await createCv(api, ws.id);
      assertError(await archive(pending.id), 422, /because it is pending, not uploaded/);

      const { ws: busy, cv } = await olderUploaded();
      const run = await api.post('/runs', runDoc(busy.id, cv.id));
      assert.equal(run.status, 201, run.text);
      await newerUploaded(busy.id);
      assertError(await archive(cv.id), 422, /because it has runs in progress/);
      assert.equal((await api.post(`/runs/${run.body.data.id}/actions/cancel`, {})).status, 202);
      assert.equal((await archive(cv.id)).status, 202);
    });

    it('answers 404 for unknown ids and other organizations, 403 to a reader, 400/422 to NUL bytes', async () => {
      const { ws, cv } = await olderUploaded();
      await newerUploaded(ws.id);
      assertError(await archive('cv-doesnotexist'), 404, /cv-doesnotexist/);
      assertError(await archive('cv-%00nul'), 400, /NUL/);
      const stranger = await organizationToken(api, await createOrganization(api));
      assertError(await archive(cv.id, stranger), 404, new RegExp(cv.id));
      const reader = await userWithAccess(api, org, [ws.id], 'read');
      assertError(await archive(cv.id, reader.client), 403, /insufficient permissions/);
      assert.equal((await showCv(api, cv.id)).attributes.status, 'uploaded');
      assertError(await api.post(`/configuration-versions/${cv.id}/actions/archive`, { data: { whatever: '\u0000' } }), 422, /NUL/);
      assert.equal((await showCv(api, cv.id)).attributes.status, 'uploaded');
      const res = await api.post(`/configuration-versions/${cv.id}/actions/archive`, {});
      assert.equal(res.status, 202, res.text);
    });
  });

  describe('download by run', function () {
    it("gives the run's configuration byte for byte; 404 for unknown runs and other organizations", async () => {
      const ws = await createWorkspace(api, org);
      const cv = await createCv(api, ws.id);
      const bytes = configTarball({ 'main.tf': MAIN_TF });
      assert.equal((await uploadTarball(api, cv, bytes)).status, 200);
      const run = await api.post('/runs', runDoc(ws.id, cv.id));
      assert.equal(run.status, 201, run.text);
      const download = await rawRequest(api, 'GET', `/runs/${run.body.data.id}/configuration-version/download`, { token: true });
      assert.equal(download.status, 200, download.text);
      assert.ok(download.bytes.equals(bytes), 'the download is the uploaded configuration');
      assertError(await api.get('/runs/run-doesnotexist/configuration-version/download'), 404, /run-doesnotexist/);
      const stranger = await organizationToken(api, await createOrganization(api));
      assertError(await stranger.get(`/runs/${run.body.data.id}/configuration-version/download`), 404, new RegExp(run.body.data.id));
      assert.equal((await api.post(`/runs/${run.body.data.id}/actions/cancel`, {})).status, 202);
    });
  });

  describe('another organization', function () {
    it('sees none of the configuration versions (404) and cannot create one', async () => {
      const ws = await createWorkspace(api, org);
      const cv = await createCv(api, ws.id);
      assert.equal((await uploadTarball(api, cv, configTarball({ 'main.tf': MAIN_TF }))).status, 200);

      const stranger = await organizationToken(api, await createOrganization(api));
      assertError(await stranger.get(`/configuration-versions/${cv.id}`), 404, new RegExp(cv.id));
      assertError(await stranger.get(`/configuration-versions/${cv.id}/download`), 404, new RegExp(cv.id));
      assertError(await stranger.get(`/workspaces/${ws.id}/configuration-versions`), 404, new RegExp(ws.id));
      assertError(await stranger.post(`/workspaces/${ws.id}/configuration-versions`, cvDoc()), 404, new RegExp(ws.id));

      // the organization's own token sees them
      const own = await organizationToken(api, org);
      assert.equal((await own.get(`/configuration-versions/${cv.id}`)).status, 200);
    });
  });
});
