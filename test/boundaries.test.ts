// The boundaries between domains: a domain reaches another only through its module file
// (src/<domain>/index.ts), and otfd's wiring goes through the same door. The rule lives in
// eslint.config.js; here it is shown refusing deliberate violations, and the whole of src/ is
// shown to keep it (CI runs the tests, so a crossing cannot land unnoticed).
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('domain boundaries', function () {
  this.timeout(120_000);
  const eslint = new ESLint({ cwd: ROOT });

  async function lint(filePath: string, text: string): Promise<string[]> {
    const [result] = await eslint.lintText(text, { filePath });
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it("refuses a domain importing another domain's service, store or presenters directly", async () => {
    for (const target of ['../runs/service.js', '../runs/store.js', '../orgs/presenters.js', '../jobs/routes.js']) {
      const messages = await lint('src/workspaces/x.ts', `import * as other from '${target}';\nexport const o = other;\n`);
      assert.equal(messages.length, 1, `${target}: ${messages.join('\n')}`);
      assert.match(messages[0], /^no-restricted-imports: .*Import another domain only through its module file/);
    }
  });

  it("refuses otfd's wiring reaching into a domain past its module file", async () => {
    const messages = await lint('src/server.ts', "import { RunService } from './runs/service.js';\nexport const r = RunService;\n");
    assert.match(messages.join('\n'), /Import another domain only through its module file/);
  });

  it("lets a domain import another's module file and its own files, and anyone import the shared layers", async () => {
    assert.deepEqual(await lint('src/workspaces/x.ts', "import { createRunDomain } from '../runs/index.js';\nimport { WorkspaceService } from './service.js';\nexport const x = [createRunDomain, WorkspaceService];\n"), []);
    assert.deepEqual(await lint('src/runs/x.ts', "import { openDatabase } from '../db/index.js';\nimport { encode } from '../api/jsonapi.js';\nimport { isAllowed } from '../auth/authorize.js';\nexport const x = [openDatabase, encode, isAllowed];\n"), []);
  });

  it('is kept by every file under src/', async () => {
    const results = await eslint.lintFiles(['src']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
    assert.deepEqual(problems, []);
  });
});
