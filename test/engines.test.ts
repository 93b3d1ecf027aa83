// Engine binaries: version constraints, the PATH binary when it fits, kept binaries, downloads from
// a releases server checked against their SHA-256 sums, and a run that errors with the reason when
// no engine can be had.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { EngineResolver, EngineUnavailableError } from '../src/agent/engines.js';
import { highestSatisfying, satisfies } from '../src/agent/semver.js';
import { extractFromZip } from '../src/agent/zip.js';
import { suite } from './hooks.js';
import { fixture } from './helpers/fixtures.js';
import { createOrganization, createWorkspace, startServer } from './helpers/server.js';

/** A zip archive of the given files, deflated, as release zips are. */
function zipOf(files: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const packed = zlib.deflateRawSync(data);
    const crc = zlib.crc32(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const REAL_TERRAFORM = execFileSync('sh', ['-c', 'command -v terraform']).toString().trim();

/** A stand-in release of terraform `version`: a script that runs the real one. */
function fakeRelease(version: string) {
  const zip = zipOf({ terraform: Buffer.from(`#!/bin/sh\nexec ${REAL_TERRAFORM} "$@"\n`) });
  const name = `terraform_${version}_linux_amd64.zip`;
  const sums = `${crypto.createHash('sha256').update(zip).digest('hex')}  ${name}\n`;
  return { zip, name, sums };
}

/** A releases server laid out like releases.hashicorp.com/terraform; counts what was fetched. */
async function releasesServer(releases: Record<string, { zip: Buffer; name: string; sums: string }>) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const m = /^\/terraform\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    if (req.url === '/terraform/index.json') {
      res.end(JSON.stringify({ name: 'terraform', versions: Object.fromEntries(Object.keys(releases).map((v) => [v, {}])) }));
      return;
    }
    const release = m ? releases[m[1]] : undefined;
    if (release && m![2] === release.name) res.end(release.zip);
    else if (release && m![2] === `terraform_${m![1]}_SHA256SUMS`) res.end(release.sums);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/terraform`;
  return {
    url,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('engines', () => {
  describe('version constraints', () => {
    it('match as terraform matches them', () => {
      assert.ok(satisfies('1.11.4', '1.11.4'));
      assert.ok(satisfies('1.11.4', '~> 1.11.0'));
      assert.ok(!satisfies('1.12.0', '~> 1.11.0'));
      assert.ok(satisfies('1.12.0', '~> 1.11'));
      assert.ok(!satisfies('2.0.0', '~> 1.11'));
      assert.ok(satisfies('1.6.0', '>= 1.5, < 2.0'));
      assert.ok(!satisfies('2.0.0', '>= 1.5, < 2.0'));
      assert.ok(satisfies('1.5.1', '!= 1.5.0'));
      assert.ok(!satisfies('1.12.0-beta1', '>= 1.0'), 'prereleases match only exactly');
      assert.ok(satisfies('1.12.0-beta1', '1.12.0-beta1'));
      assert.equal(highestSatisfying(['1.9.8', '1.11.4', '1.11.2', '1.12.0'], '~> 1.11.0'), '1.11.4');
      assert.equal(highestSatisfying(['1.9.8'], '~> 1.11.0'), null);
    });
  });

  describe('zip', () => {
    it('extracts one file and refuses archives that lack it', () => {
      const zip = zipOf({ a: Buffer.from('first'), terraform: Buffer.from('binary bytes') });
      assert.equal(extractFromZip(zip, 'terraform').toString(), 'binary bytes');
      assert.throws(() => extractFromZip(zip, 'tofu'), /no entry tofu/);
      assert.throws(() => extractFromZip(Buffer.from('not a zip at all, just text'), 'x'), /not a zip archive/);
    });
  });

  describe('the resolver', () => {
    let binsDir: string;
    beforeEach(() => {
      binsDir = fs.mkdtempSync(path.join(suite().tmp, 'bins-'));
    });

    it('uses the terraform on PATH when its version fits, without downloading', async () => {
      const releases = await releasesServer({});
      try {
        const resolver = new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } });
        for (const wanted of ['1.11.4', '~> 1.11.0', 'latest']) {
          const engine = await resolver.resolve('terraform', wanted);
          assert.equal(engine.path, REAL_TERRAFORM);
          assert.equal(engine.version, '1.11.4');
        }
        assert.deepEqual(releases.hits, []);
      } finally {
        await releases.close();
      }
    });

    it('downloads a version PATH does not have, checks its checksum, keeps it, and reuses the kept one', async () => {
      const releases = await releasesServer({ '1.99.0': fakeRelease('1.99.0') });
      try {
        const resolver = new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } });
        const engine = await resolver.resolve('terraform', '1.99.0');
        assert.equal(engine.version, '1.99.0');
        assert.equal(engine.path, path.join(binsDir, 'terraform', '1.99.0', 'terraform'));
        assert.match(execFileSync(engine.path, ['version'], { env: { PATH: process.env.PATH, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' } }).toString(), /Terraform v1\.11\.4/, 'the kept binary runs');
        assert.equal(releases.hits.length, 2, 'the zip and its sums');
        const again = await new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } }).resolve('terraform', '~> 1.99.0');
        assert.equal(again.path, engine.path);
        assert.equal(releases.hits.length, 2, 'nothing downloaded the second time');
      } finally {
        await releases.close();
      }
    });

    it('picks the highest release that fits a constraint from the release index', async () => {
      const releases = await releasesServer({ '1.98.1': fakeRelease('1.98.1'), '1.98.3': fakeRelease('1.98.3'), '1.99.0': fakeRelease('1.99.0') });
      try {
        const resolver = new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } });
        const engine = await resolver.resolve('terraform', '~> 1.98.0');
        assert.equal(engine.version, '1.98.3');
      } finally {
        await releases.close();
      }
    });

    it('refuses a download whose checksum does not match, and keeps nothing', async () => {
      const release = fakeRelease('1.99.0');
      const releases = await releasesServer({ '1.99.0': { ...release, sums: `${'0'.repeat(64)}  ${release.name}\n` } });
      try {
        const resolver = new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } });
        await assert.rejects(
          resolver.resolve('terraform', '1.99.0'),
          (err: Error) => err instanceof EngineUnavailableError && /checksum mismatch/.test(err.message) && /terraform 1\.99\.0 is not available/.test(err.message),
        );
        assert.ok(!fs.existsSync(path.join(binsDir, 'terraform', '1.99.0', 'terraform')));
      } finally {
        await releases.close();
      }
    });

    it('explains what it tried when no engine can be had', async () => {
      const releases = await releasesServer({});
      try {
        const resolver = new EngineResolver({ binsDir, releasesUrl: { terraform: releases.url, tofu: releases.url } });
        await assert.rejects(resolver.resolve('terraform', '1.0.0'), (err: Error) => {
          assert.match(err.message, /terraform 1\.0\.0 is not available: the one on PATH is 1\.11\.4/);
          assert.match(err.message, /404/);
          return true;
        });
        await assert.rejects(resolver.resolve('terraform', 'banana'), /"banana" is not a version or a version constraint/);
      } finally {
        await releases.close();
      }
    });
  });

  describe('in a run', function () {
    this.timeout(60_000);

    it('executes with a downloaded engine, and errors with the reason when none can be had', async () => {
      const releases = await releasesServer({ '1.99.0': fakeRelease('1.99.0') });
      const server = await startServer({ config: { concurrency: 1 }, engineReleases: { terraform: releases.url, tofu: releases.url } });
      try {
        const org = await createOrganization(server.api);
        const run = async (version: string) => {
          const ws = await createWorkspace(server.api, org, undefined, { 'terraform-version': version });
          const cv = await server.api.post(`/workspaces/${ws.id}/configuration-versions`, { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } });
          const dir = fs.mkdtempSync(path.join(suite().tmp, 'cfg-'));
          fs.writeFileSync(path.join(dir, 'main.tf'), fixture('empty-resource'));
          const tarball = execFileSync('tar', ['czf', '-', '-C', dir, 'main.tf']);
          const put = await server.api.request('PUT', cv.body.data.attributes['upload-url'], { raw: tarball, token: null, headers: { 'Content-Type': 'application/octet-stream' } });
          assert.equal(put.status, 200);
          const created = await server.api.post('/runs', {
            data: { type: 'runs', attributes: { 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } },
          });
          assert.equal(created.status, 201, created.text);
          for (let i = 0; i < 300; i++) {
            const r = await server.api.get(`/runs/${created.body.data.id}`);
            if (['planned_and_finished', 'errored'].includes(r.body.data.attributes.status)) return r.body.data;
            await new Promise((res) => setTimeout(res, 100));
          }
          throw new Error('the run did not finish');
        };
        const downloaded = await run('1.99.0');
        assert.equal(downloaded.attributes.status, 'planned_and_finished');
        const unavailable = await run('1.0.0');
        assert.equal(unavailable.attributes.status, 'errored');
        assert.match(unavailable.attributes['error-message'], /terraform 1\.0\.0 is not available/);
      } finally {
        await server.stop();
        await releases.close();
      }
    });
  });
});
