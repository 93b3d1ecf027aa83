// What every client touches first: service discovery, ping, account details, health and metrics,
// and the shape of errors for unknown routes and bad credentials.
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';

describe('handshake, health and metrics', function () {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('serves the service discovery document as application/json', async () => {
    const res = await server.api.get('/.well-known/terraform.json', { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.body, {
      'tfe.v2': '/api/v2/',
      'tfe.v2.1': '/api/v2/',
      'tfe.v2.2': '/api/v2/',
      'state.v2': '/api/v2/',
      // `terraform login HOST` gets a user token through the web UI.
      'login.v1': { client: 'terraform-cli', grant_types: ['authz_code'], authz: '/app/oauth/authorize', token: '/app/oauth/token', ports: [10000, 10010] },
    });
  });

  it('answers ping with an API version of at least 2.6 and a rate limit the CLI accepts', async () => {
    const res = await server.api.get('/ping');
    assert.equal(res.status, 204);
    assert.ok(Number(res.headers['tfp-api-version']) >= 2.6, `TFP-API-Version ${res.headers['tfp-api-version']}`);
    const limit = res.headers['x-ratelimit-limit'];
    assert.ok(limit === undefined || Number(limit) >= 4, `X-RateLimit-Limit ${limit}`);
    assert.equal(res.headers['x-tfe-version'], undefined);
  });

  it('describes the site admin at /account/details', async () => {
    const res = await server.api.get('/account/details');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.type, 'users');
    assert.equal(res.body.data.attributes.username, 'site-admin');
    assert.equal(res.body.data.attributes['is-site-admin'], true);
  });

  it('answers 401 with a JSON:API error for a missing, malformed or unknown token', async () => {
    for (const [headers, detail] of [
      [{}, /missing bearer token/],
      [{ Authorization: 'Basic abc' }, /Bearer <token>/],
      [{ Authorization: 'Bearer not-a-token' }, /invalid, expired or revoked/],
    ] as const) {
      const res = await server.api.get('/account/details', { token: null, headers });
      assert.equal(res.status, 401);
      assert.equal(res.body.errors[0].status, '401');
      assert.match(res.body.errors[0].detail, detail);
    }
  });

  it('answers unknown endpoints with a JSON:API 404 and wrong methods with 405', async () => {
    const missing = await server.api.get('/no-such-thing');
    assert.equal(missing.status, 404);
    assert.match(missing.body.errors[0].detail, /no such endpoint: GET \/api\/v2\/no-such-thing/);
    const wrong = await server.api.request('PUT', '/organizations');
    assert.equal(wrong.status, 405);
    assert.match(wrong.body.errors[0].detail, /PUT is not allowed/);
  });

  it('gives every response a request id, and keeps one the client sent', async () => {
    const fresh = await server.api.get('/ping');
    assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const kept = await server.api.get('/ping', { headers: { 'X-Request-Id': 'trace-123' } });
    assert.equal(kept.headers['x-request-id'], 'trace-123');
  });

  it('reports health as 200 while the database is usable', async () => {
    const res = await server.api.get('/healthz', { token: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
  });

  it('exposes request counts and latency histograms by route at /metrics', async () => {
    await server.api.get('/account/details');
    const res = await server.api.get('/metrics', { token: null });
    assert.equal(res.status, 200);
    assert.match(res.text, /otf_http_requests_total\{method="GET",route="\/api\/v2\/account\/details",status="200"\} \d+/);
    assert.match(res.text, /otf_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v2\/account\/details"\}/);
  });
});
