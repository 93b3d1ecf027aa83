// How a runner's HTTP client rides out an otfd that answers 503 with Retry-After, or that is not
// there at all for a while: repeatable requests keep trying, and wait as long as otfd asks.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, HttpError } from '../src/agent/client.js';
import { freePort } from './helpers/server.js';
import { sleep } from './helpers/wait.js';

function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('the runner HTTP client', () => {
  it('honours Retry-After on 503 and gets its answer once otfd is back', async () => {
    const seen: number[] = [];
    const server = http.createServer((_req, res) => {
      seen.push(Date.now());
      if (seen.length < 3) {
        res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ status: '503', title: 'service unavailable' }] }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
    const port = await listen(server);
    const client = new HttpClient({ baseUrl: `http://127.0.0.1:${port}` });
    try {
      const answer = await client.json<{ ok: boolean }>('POST', '/api/agent/jobs/job-x/finish', { json: {}, retry: true });
      assert.deepEqual(answer, { ok: true });
      assert.equal(seen.length, 3);
      assert.ok(seen[1] - seen[0] >= 950 && seen[2] - seen[1] >= 950, `waited as asked: ${seen[1] - seen[0]} ms, ${seen[2] - seen[1]} ms`);
    } finally {
      client.close();
      server.close();
    }
  });

  it('keeps trying while nothing listens, and is answered when otfd starts', async () => {
    const port = await freePort();
    const client = new HttpClient({ baseUrl: `http://127.0.0.1:${port}` });
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"length":5}');
    });
    try {
      const pending = client.json<{ length: number }>('PUT', '/api/agent/jobs/job-x/logs?offset=0', { body: 'hello', contentType: 'application/octet-stream', retry: true });
      await sleep(2_000);
      await listen(server, port);
      assert.deepEqual(await pending, { length: 5 });
    } finally {
      client.close();
      server.close();
    }
  });

  it('does not repeat a request that otfd refused', async () => {
    let count = 0;
    const server = http.createServer((_req, res) => {
      count++;
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ status: '401', title: 'unauthorized', detail: 'the job token was revoked' }] }));
    });
    const port = await listen(server);
    const client = new HttpClient({ baseUrl: `http://127.0.0.1:${port}` });
    try {
      await assert.rejects(client.request('POST', '/api/agent/jobs/job-x/finish', { body: '{}', retry: true }), (err: unknown) => err instanceof HttpError && err.status === 401);
      assert.equal(count, 1);
    } finally {
      client.close();
      server.close();
    }
  });
});
