// Deleting a workspace (or its organization) deletes its runs, configuration versions and state
// versions; the blobs they held (tarballs, plan artifacts, state files) are collected afterwards,
// and nothing a workspace still has is ever taken.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { BlobCollector } from '../src/blobs/collector.js';
import { PostgresBlobStore } from '../src/blobs/store.js';
import { createLogger } from '../src/logger.js';
import { artifactKey } from '../src/runs/artifacts.js';
import { configBlobKey } from '../src/runs/configs.js';
import { blobOwners } from '../src/server.js';
import { stateKey } from '../src/state/service.js';
import type { Api, Json } from './helpers/api.js';
import { fixtureFiles } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer, type TestServer } from './helpers/server.js';
import { configTarball, uploadTarball } from './helpers/tarball.js';

const ok = (res: { status: number; text: string }, status: number) => assert.equal(res.status, status, res.text);

/** A workspace with an uploaded configuration, a run on it with a plan artifact, and a state version. */
async function workspaceWithBlobs(api: Api, org: string, blobs: PostgresBlobStore): Promise<{ ws: Json; keys: string[] }> {
  const ws = await createWorkspace(api, org);
  const cv = await api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
  ok(cv, 201);
  ok(await uploadTarball(api, cv.body.data, configTarball(fixtureFiles('one-output'))), 200);
  const run = await api.post('/runs', {
    data: { type: 'runs', relationships: { workspace: { data: { type: 'workspaces', id: ws.id } }, 'configuration-version': { data: { type: 'configuration-versions', id: cv.body.data.id } } } },
  });
  ok(run, 201);
  // what a runner uploads once it has planned
  await blobs.put(artifactKey(run.body.data.id, 'plan-json'), Buffer.from('{"format_version":"1.2"}'));
  ok(await api.post(`/runs/${run.body.data.id}/actions/cancel`, {}), 202);

  const state = JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 1, lineage: crypto.randomUUID(), outputs: {}, resources: [] });
  ok(await api.post(`/workspaces/${ws.id}/actions/lock`, {}), 200);
  const sv = await api.post(`/workspaces/${ws.id}/state-versions`, {
    data: {
      type: 'state-versions',
      attributes: { serial: 1, md5: crypto.createHash('md5').update(state).digest('hex'), state: Buffer.from(state).toString('base64') },
    },
  });
  ok(sv, 201);
  ok(await api.post(`/workspaces/${ws.id}/actions/unlock`, {}), 200);
  return { ws, keys: [configBlobKey(cv.body.data.id), artifactKey(run.body.data.id, 'plan-json'), stateKey(sv.body.data.id)] };
}

describe('collecting the blobs of deleted workspaces', function () {
  this.timeout(60_000);
  let server: TestServer;
  let blobs: PostgresBlobStore;
  let collector: BlobCollector;

  before(async () => {
    server = await startServer();
    blobs = new PostgresBlobStore(server.otfd.db);
    collector = new BlobCollector(blobs, blobOwners(server.otfd.db), createLogger('silent'));
  });
  after(() => server.stop());

  /** Which of these blobs the store holds. */
  async function stored(keys: string[]): Promise<string[]> {
    return (await server.otfd.db('blobs').whereIn('key', keys).orderBy('key').pluck('key')) as string[];
  }

  it("takes a deleted workspace's tarballs, plan artifacts and state files, and nothing of a workspace that remains", async () => {
    const org = await createOrganization(server.api);
    const gone = await workspaceWithBlobs(server.api, org, blobs);
    const kept = await workspaceWithBlobs(server.api, org, blobs);
    assert.deepEqual(await stored(gone.keys), [...gone.keys].sort());
    assert.deepEqual(await stored(kept.keys), [...kept.keys].sort());

    ok(await server.api.delete(`/workspaces/${gone.ws.id}`), 204);
    // Blobs younger than the collector's hour are left alone: an upload may still be committing.
    assert.equal(await collector.collect(), 0);
    assert.deepEqual(await stored(gone.keys), [...gone.keys].sort());

    assert.equal(await collector.collect(0), gone.keys.length);
    assert.deepEqual(await stored(gone.keys), []);
    assert.deepEqual(await stored(kept.keys), [...kept.keys].sort());

    // The remaining workspace reads as before, and a second collection finds nothing more.
    const download = await server.api.get(`/workspaces/${kept.ws.id}/current-state-version`);
    ok(download, 200);
    ok(await server.api.request('GET', download.body.data.attributes['hosted-state-download-url'], {}), 200);
    assert.equal(await collector.collect(0), 0);
  });

  it("takes the blobs of every workspace of a deleted organization", async () => {
    const org = await createOrganization(server.api);
    const workspaces = [await workspaceWithBlobs(server.api, org, blobs), await workspaceWithBlobs(server.api, org, blobs)];
    const keys = workspaces.flatMap((w) => w.keys);
    ok(await server.api.delete(`/organizations/${org}`), 204);
    assert.equal(await collector.collect(0), keys.length);
    assert.deepEqual(await stored(keys), []);
  });
});
