// The request-scoped log (src/logger.ts): every line otfd writes while it handles a request, in
// whichever domain, carries the request's id and who made it (the kind of caller and its ids),
// never its token.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Api, Json } from './helpers/api.js';
import { createUser } from './helpers/people.js';
import { createOrganization, randomName, startServer, type TestServer } from './helpers/server.js';
import { createLogger } from '../src/logger.js';

type Line = Record<string, unknown> & { msg?: string; reqId?: string; caller?: Record<string, string> };

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: Line[] = [];
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        text.push(line);
        lines.push(JSON.parse(line) as Line);
      }
      done();
    },
  });
  return { logger: createLogger('info', 'otfd', stream), lines, text };
}

describe('request-scoped log lines', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  let org: string;
  let log: ReturnType<typeof capturedLogger>;

  before(async () => {
    log = capturedLogger();
    server = await startServer({ logger: log.logger });
    api = server.api;
    org = await createOrganization(api);
  });
  after(() => server.stop());

  it('a line a service logs during a request carries the request id and the caller, not the token', async () => {
    const pool = await api.post(`/organizations/${org}/agent-pools`, { data: { type: 'agent-pools', attributes: { name: randomName('pool') } } });
    assert.equal(pool.status, 201, pool.text);
    const poolId: string = (pool.body as Json).data.id;
    const token = await api.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: 'authentication-tokens', attributes: { description: 'logs' } } });
    assert.equal(token.status, 201, token.text);
    const tokenId: string = (token.body as Json).data.id;
    const secret: string = (token.body as Json).data.attributes.token;

    const requestId = `register-${randomName('req')}`;
    const res = await api.post(
      '/api/agent/register',
      { name: randomName('agent') },
      { token: secret, headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId } },
    );
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['x-request-id'], requestId);

    // Logged by the agents' service, which knows nothing of the request.
    const registered = log.lines.find((l) => l.msg === 'agent registered' && l.agent === (res.body as Json).id);
    assert.ok(registered, `no "agent registered" line in:\n${log.text.join('\n')}`);
    assert.equal(registered.reqId, requestId);
    assert.deepEqual(registered.caller, { kind: 'agent-token', tokenId, poolId, organizationId: registered.caller!.organizationId });
    assert.match(registered.caller!.organizationId, /^org-/);

    // The access line of the same request says the same.
    const access = log.lines.find((l) => l.msg === 'request' && l.reqId === requestId);
    assert.ok(access, `no request line for ${requestId}`);
    assert.equal(access.route, '/api/agent/register');
    assert.deepEqual(access.caller, registered.caller);

    // Neither the token nor its secret half is in any line.
    const secretHalf = secret.split('.')[1];
    assert.ok(!log.text.some((l) => l.includes(secret) || l.includes(secretHalf)), 'a log line holds the token');
  });

  it('names users and the site administrator by their ids, and lines outside a request carry neither', async () => {
    const user = await createUser(api);
    const asUser = await user.client.get('/account/details', { headers: { 'X-Request-Id': 'as-user-1' } });
    assert.equal(asUser.status, 200, asUser.text);
    const asSite = await api.get(`/organizations/${org}`, { headers: { 'X-Request-Id': 'as-site-1' } });
    assert.equal(asSite.status, 200, asSite.text);

    const userLine = log.lines.find((l) => l.msg === 'request' && l.reqId === 'as-user-1');
    assert.deepEqual(userLine?.caller, { kind: 'user', userId: user.id, username: user.username });
    const siteLine = log.lines.find((l) => l.msg === 'request' && l.reqId === 'as-site-1');
    assert.deepEqual(siteLine?.caller, { kind: 'site-admin' });
    assert.ok(!log.text.some((l) => l.includes(user.token)), 'a log line holds the user token');

    // A request without a token is logged with its id, and no caller.
    const anonymous = await api.get('/ping', { token: null, headers: { 'X-Request-Id': 'anonymous-1' } });
    assert.equal(anonymous.status, 204);
    const anonymousLine = log.lines.find((l) => l.msg === 'request' && l.reqId === 'anonymous-1');
    assert.ok(anonymousLine, 'no request line for the ping');
    assert.equal(anonymousLine.caller, undefined);

    const ready = log.lines.find((l) => l.msg === 'otfd is ready');
    assert.ok(ready, 'no "otfd is ready" line');
    assert.equal(ready.reqId, undefined);
    assert.equal(ready.caller, undefined);
  });
});
