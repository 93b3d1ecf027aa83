// The baseline of the read benchmarks: a bare Node HTTP server, no framework, doing per request the
// two PostgreSQL queries a single read of a workspace needs (the token lookup and the workspace
// row) on otfd's own database, and answering the row as JSON. It is what "as fast as the database
// allows on this machine" looks like: otfd's read scenarios are reported as a ratio to it.
//
// Run as a child process by bench/run.ts (so that it, like otfd, has a process and a core of its
// own apart from autocannon): `node dist/bench/baseline.js` with BASELINE_DATABASE_URL and
// BASELINE_PORT set. It prints "listening" once it accepts requests.
//
// GET /workspaces/<id> with "Authorization: Bearer <user token>" answers 200 and the row, 401 for
// an unknown token, 404 for an unknown workspace. GET /organizations/<name>/workspaces answers the
// first 100 rows of the organization's workspaces by name, as JSON: the floor under a page of 100
// (its queries and its JSON text, without any presenting).
import crypto from 'node:crypto';
import http from 'node:http';
import pg from 'pg';

/**
 * The token lookup of a user token, as otfd's userTokenForAuth asks it: the token, its user and
 * what the user holds through its teams, one row per grant.
 */
const TOKEN_SQL = `
SELECT ut.*, u.username, u.email, u.created_at AS user_created_at, m.organization_id,
       t.id AS team_id, t.is_owners, t.organization_access, tw.workspace_id, tw.access, tw.runs, tw.variables,
       tw.state_versions, tw.sentinel_mocks, tw.workspace_locking, tw.run_tasks
  FROM user_tokens ut
  JOIN users u ON u.id = ut.user_id
  LEFT JOIN organization_memberships m ON m.user_id = u.id AND m.status = 'active'
  LEFT JOIN team_memberships tm ON tm.user_id = m.user_id
  LEFT JOIN teams t ON t.id = tm.team_id AND t.organization_id = m.organization_id
  LEFT JOIN team_workspaces tw ON tw.team_id = t.id
 WHERE ut.id = $1`;

/** The workspace row as otfd's findById reads it: with its organization's name, tags and current ids. */
const WORKSPACE_SQL = `
SELECT w.*, o.name AS organization_name,
       coalesce((SELECT json_agg(json_build_object('key', t.key, 'value', t.value) ORDER BY t.key)
                   FROM workspace_tags t WHERE t.workspace_id = w.id), '[]'::json) AS tags,
       coalesce((SELECT array_agg(c.consumer_id ORDER BY c.consumer_id) FROM remote_state_consumers c WHERE c.workspace_id = w.id), '{}') AS remote_state_consumers,
       (SELECT r.id FROM runs r WHERE r.workspace_id = w.id ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS latest_run_id,
       (SELECT sv.id FROM state_versions sv WHERE sv.workspace_id = w.id AND sv.status = 'finalized' ORDER BY sv.finalized_seq DESC LIMIT 1) AS current_state_version_id,
       coalesce((SELECT sv.managed_instances FROM state_versions sv WHERE sv.workspace_id = w.id AND sv.status = 'finalized' ORDER BY sv.finalized_seq DESC LIMIT 1), 0) AS resource_count,
       (SELECT cv.id FROM configuration_versions cv WHERE cv.workspace_id = w.id AND cv.status = 'uploaded'
         ORDER BY cv.created_at DESC, cv.id DESC LIMIT 1) AS current_configuration_version_id
  FROM workspaces w
  JOIN organizations o ON o.id = w.organization_id
 WHERE w.id = $1`;

/**
 * A page of 100 workspaces of an organization, as otfd's list reads it: the first 100 by name
 * picked over narrow rows with the total count, then those rows read in full.
 */
const WORKSPACE_LIST_SQL =
  `WITH page AS (SELECT w.id, count(*) OVER () AS total_count FROM workspaces w JOIN organizations o ON o.id = w.organization_id
                  WHERE o.name = $1 ORDER BY w.name LIMIT 100)` +
  WORKSPACE_SQL.replace('SELECT w.*,', 'SELECT w.*, page.total_count,')
    .replace('FROM workspaces w', 'FROM page JOIN workspaces w ON w.id = page.id')
    .replace('WHERE w.id = $1', 'ORDER BY w.name');

const TOKEN = /^Bearer ([a-z]+-[A-Za-z0-9]{16})\.([A-Za-z0-9_-]{43})$/;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

function main(): void {
  // As many connections as otfd's pool (20 by default).
  const pool = new pg.Pool({ connectionString: required('BASELINE_DATABASE_URL'), max: 20 });
  const answer = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    (async () => {
      const token = TOKEN.exec(req.headers.authorization ?? '');
      const id = /^\/workspaces\/([A-Za-z0-9-]+)$/.exec(req.url ?? '')?.[1];
      const org = /^\/organizations\/([A-Za-z0-9_-]+)\/workspaces$/.exec(req.url ?? '')?.[1];
      if (!id && !org) return answer(res, 404, { error: 'not found' });
      if (!token) return answer(res, 401, { error: 'unauthorized' });
      // Named: prepared once per connection, as otfd's hot queries are.
      const grants = await pool.query({ name: 'token', text: TOKEN_SQL, values: [token[1]] });
      const given = crypto.createHash('sha256').update(token[2]).digest();
      const stored = grants.rows[0]?.secret_hash as Buffer | undefined;
      if (!stored || stored.length !== given.length || !crypto.timingSafeEqual(stored, given)) return answer(res, 401, { error: 'unauthorized' });
      if (org) {
        const page = await pool.query({ name: 'workspaces', text: WORKSPACE_LIST_SQL, values: [org] });
        return answer(res, 200, { data: page.rows, meta: { total: page.rows[0]?.total_count ?? 0 } });
      }
      const ws = await pool.query({ name: 'workspace', text: WORKSPACE_SQL, values: [id] });
      if (ws.rows.length === 0) return answer(res, 404, { error: 'not found' });
      answer(res, 200, { data: ws.rows[0] });
    })().catch((err: unknown) => answer(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(required('BASELINE_PORT')), '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void pool.end().then(() => process.exit(0));
  });
}

main();
