// The one rule for git ref names and repository identifiers (src/vcs/names.ts), which workspaces,
// the adapters, webhook payloads and the repository cache all check with: a table, so that the
// places cannot drift apart again.
import assert from 'node:assert/strict';
import { branchNameProblem, identifierProblem, isRefName, refNameProblem, splitOwnerAndName } from '../src/vcs/index.js';
import { validBranch } from '../src/workspaces/vcs.js';

describe('VCS names: ref names and repository identifiers', () => {
  const refs: Array<[string, boolean]> = [
    ['refs/heads/main', true],
    ['refs/heads/feature/x-1', true],
    ['refs/tags/v1.2.3', true],
    ['refs/heads/ünïcödé', true],
    ['', false],
    ['refs/heads/a..b', false],
    ['refs/heads/a b', false],
    ['refs/heads/a~1', false],
    ['refs/heads/a^', false],
    ['refs/heads/a:b', false],
    ['refs/heads/a?', false],
    ['refs/heads/a*', false],
    ['refs/heads/a[', false],
    ['refs/heads/a\\b', false],
    ['refs/heads/a\u0000b', false],
    ['refs/heads/a\u007f', false],
    ['refs/heads/a@{1}', false],
    ['@', false],
    ['--upload-pack=touch /tmp/x', false],
    ['-x', false],
    ['/refs/heads/a', false],
    ['refs/heads/a/', false],
    ['refs//heads', false],
    ['refs/heads/a.', false],
    ['refs/heads/.hidden', false],
    ['refs/heads/a.lock', false],
    [`refs/heads/${'a'.repeat(1020)}`, false],
  ];
  for (const [ref, ok] of refs) {
    it(`${JSON.stringify(ref.slice(0, 40))} is ${ok ? '' : 'not '}a ref name`, () => {
      assert.equal(isRefName(ref), ok);
      assert.equal(refNameProblem(ref) === null, ok);
    });
  }

  it('a branch name is a ref name under refs/heads/ that does not start with "-"; workspaces use the same rule', () => {
    for (const [name, ok] of [
      ['main', true],
      ['feature/x', true],
      ['-main', false],
      ['a..b', false],
      ['.x', false],
      ['x.lock', false],
      ['/x', false],
      ['x/', false],
      ['@', false], // git reads it as HEAD
    ] as Array<[string, boolean]>) {
      assert.equal(branchNameProblem(name) === null, ok, name);
      assert.equal(validBranch(name), ok, name);
    }
    assert.equal(validBranch('a'.repeat(256)), false, 'longer than a workspace takes');
  });

  it('repository identifiers: owner/name, a GitLab project path, or either', () => {
    const cases: Array<[string, boolean, boolean, boolean]> = [
      // identifier, owner/name, project path, any
      ['acme/app', true, true, true],
      ['acme/sub/app', false, true, true],
      ['a.b/c_d-e', true, true, true],
      ['acme', false, false, false],
      ['', false, false, false],
      ['acme/', false, false, false],
      ['/app', false, false, false],
      ['acme/../etc', false, false, false],
      ['../app', false, false, false],
      ['acme/.', false, false, false],
      ['acme/a b', false, false, false],
      ['acme/a%2Fb', false, false, false],
      ['acme/a\u0000b', false, false, false],
      [`acme/${'x'.repeat(256)}`, false, false, false],
    ];
    for (const [id, ownerName, projectPath, any] of cases) {
      assert.equal(identifierProblem(id, 'owner/name') === null, ownerName, `${id} owner/name`);
      assert.equal(identifierProblem(id, 'project path') === null, projectPath, `${id} project path`);
      assert.equal(identifierProblem(id, 'any') === null, any, `${id} any`);
    }
    assert.deepEqual(splitOwnerAndName('acme/app'), { owner: 'acme', name: 'app' });
    assert.equal(splitOwnerAndName('acme/sub/app'), null);
  });
});
