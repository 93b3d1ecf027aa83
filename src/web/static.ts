// The stylesheets and scripts of the web UI, served from this otfd: Pico CSS, htmx and its SSE
// extension from their npm packages, and our own app.css and app.js from src/web/assets. They
// are read once at start and served with an ETag.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WebRouter } from './http.js';

/** The folder of package.json: assets are found from there, in the source tree and in dist alike. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the package root of otf-ts');
    dir = up;
  }
  return dir;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  'pico.min.css': { file: 'node_modules/@picocss/pico/css/pico.min.css', type: 'text/css; charset=utf-8' },
  'htmx.min.js': { file: 'node_modules/htmx.org/dist/htmx.min.js', type: 'text/javascript; charset=utf-8' },
  'sse.js': { file: 'node_modules/htmx-ext-sse/dist/sse.min.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'src/web/assets/app.css', type: 'text/css; charset=utf-8' },
  'app.js': { file: 'src/web/assets/app.js', type: 'text/javascript; charset=utf-8' },
};

export function registerStaticRoutes(router: WebRouter): void {
  const root = packageRoot();
  const loaded = new Map<string, { body: Buffer; type: string; etag: string }>();
  for (const [name, a] of Object.entries(ASSETS)) {
    const body = fs.readFileSync(path.join(root, a.file));
    loaded.set(name, { body, type: a.type, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });
  }
  router.get('/static/:name', (ctx) => {
    const asset = loaded.get(ctx.params.name);
    if (!asset) return;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('ETag', asset.etag);
    if (ctx.get('If-None-Match') === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    ctx.body = asset.body;
  });
}
