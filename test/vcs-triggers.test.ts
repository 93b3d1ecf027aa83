// Which VCS events queue a run in a workspace, as tables: file triggers (working directory, trigger
// prefixes, glob trigger patterns as TFC documents them), tags-regex, pull requests into the
// tracked branch and from forks. Pure unit tests of src/ingress/triggers.ts; the end-to-end tests
// (test/vcs-runs.test.ts) show the same rules through webhooks and real runs.
import assert from 'node:assert/strict';
import { decide, filesTrigger, globMatches, isNewBranch, MAX_CHANGED_PATHS, type TriggerSettings } from '../src/ingress/triggers.js';
import type { PullRequestEvent, PushEvent, TagEvent, WorkspaceVcsRepo } from '../src/vcs/types.js';

const ws = (over: Partial<TriggerSettings> = {}): TriggerSettings => ({
  fileTriggersEnabled: true,
  workingDirectory: '',
  triggerPrefixes: [],
  triggerPatterns: [],
  speculativeEnabled: true,
  ...over,
});

const repo = (over: Partial<WorkspaceVcsRepo> = {}): WorkspaceVcsRepo => ({
  identifier: 'acme/infra',
  oauthTokenId: 'ot-1',
  branch: 'main',
  tagsRegex: null,
  ingressSubmodules: false,
  repoHookId: 'rh-1',
  pollIntervalSeconds: null,
  allowForkPullRequests: false,
  ...over,
});

const commit = { sha: 'a'.repeat(40), message: 'Add things\n\nbody', url: 'https://example.test/c' };
const push = (over: Partial<PushEvent> = {}): PushEvent => ({
  type: 'push',
  kind: 'github',
  identifier: 'acme/infra',
  deliveryId: 'd-1',
  sender: 'alice',
  branch: 'main',
  before: 'b'.repeat(40),
  commit,
  compareUrl: null,
  changedFiles: ['main.tf'],
  deleted: false,
  ...over,
});
const tag = (name: string, over: Partial<TagEvent> = {}): TagEvent => ({
  type: 'tag',
  kind: 'github',
  identifier: 'acme/infra',
  deliveryId: 'd-2',
  sender: 'alice',
  tag: name,
  commit,
  deleted: false,
  ...over,
});
const pr = (over: Partial<PullRequestEvent> = {}): PullRequestEvent => ({
  type: 'pull-request',
  kind: 'github',
  identifier: 'acme/infra',
  deliveryId: 'd-3',
  sender: 'bob',
  action: 'opened',
  number: 7,
  url: 'https://example.test/pr/7',
  title: 'Change',
  commit,
  headBranch: 'feature',
  baseBranch: 'main',
  fromFork: false,
  ...over,
});

describe('VCS triggers', () => {
  describe('glob trigger patterns', () => {
    const cases: Array<[string, string, boolean]> = [
      ['/modules/**/*.tf', 'modules/a/main.tf', true],
      ['/modules/**/*.tf', 'modules/main.tf', true],
      ['/modules/**/*.tf', 'modules/a/b/c/main.tf', true],
      ['/modules/**/*.tf', 'modules/a/readme.md', false],
      ['/modules/**/*.tf', 'other/modules/a/main.tf', false],
      ['modules/*.tf', 'modules/main.tf', true],
      ['modules/*.tf', 'modules/a/main.tf', false],
      ['/**/networking/*', 'networking/vpc.tf', true],
      ['/**/networking/*', 'envs/prod/networking/vpc.tf', true],
      ['/**/networking/*', 'envs/prod/networking/sub/vpc.tf', false],
      ['/app/**', 'app/x', true],
      ['/app/**', 'app/x/y/z', true],
      ['/app/**', 'apps/x', false],
      ['*.tf', 'main.tf', true],
      ['*.tf', 'dir/main.tf', false],
      ['**/*.tf', 'dir/sub/main.tf', true],
      ['**/*.tf', 'main.tf', true],
      ['/config/?.json', 'config/a.json', true],
      ['/config/?.json', 'config/ab.json', false],
      ['/{dev,prod}/*.tf', 'prod/main.tf', true],
      ['/{dev,prod}/*.tf', 'test/main.tf', false],
      ['/a.b/c+d/(x)', 'a.b/c+d/(x)', true],
      ['/a.b/*', 'axb/c', false],
    ];
    for (const [pattern, path, expected] of cases) {
      it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
        assert.equal(globMatches(pattern, path), expected);
      });
    }
  });

  describe('pathological patterns stay fast', () => {
    // A backtracking regular expression took ~0.5 s for 12 stars on a 30-character path, doubling
    // with each star; the matcher must answer in linear-ish time however the stars are placed.
    const fast = (fn: () => void): void => {
      const start = process.hrtime.bigint();
      fn();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      assert.ok(ms < 200, `took ${ms} ms`);
    };
    it('many stars against a long path that nearly matches', () => {
      fast(() => {
        assert.equal(globMatches(`${'*a'.repeat(12)}*b`, 'a'.repeat(30)), false);
        assert.equal(globMatches(`${'*a'.repeat(100)}*b`, 'a'.repeat(4000)), false);
        assert.equal(globMatches(`${'*a'.repeat(12)}*b`, `${'a'.repeat(30)}b`), true);
      });
    });
    it('many globstars against a deep path', () => {
      fast(() => {
        assert.equal(globMatches(`${'**/a/'.repeat(20)}b`, 'a/'.repeat(200) + 'c'), false);
        assert.equal(globMatches(`${'**/a/'.repeat(20)}b`, 'a/'.repeat(200) + 'b'), true);
      });
    });
    it('braces that would expand without bound match nothing, quickly', () => {
      fast(() => assert.equal(globMatches('{a,b}'.repeat(40), 'a'.repeat(40)), false));
    });
    it('100 patterns against thousands of changed paths', () => {
      const s = ws({ triggerPatterns: Array.from({ length: 100 }, () => `${'*a'.repeat(50)}*b`) });
      const paths = Array.from({ length: 2000 }, () => 'a'.repeat(200));
      const start = process.hrtime.bigint();
      // past the matching budget it runs rather than stalls: either answer is allowed, in time
      filesTrigger(s, paths);
      assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
    });
    it('a push with more changed paths than are compared runs', () => {
      const s = ws({ triggerPatterns: ['/nowhere/*.tf'] });
      assert.equal(filesTrigger(s, Array.from({ length: MAX_CHANGED_PATHS + 1 }, (_, i) => `f${i}`)), true);
      assert.equal(filesTrigger(s, ['f1']), false);
    });
  });

  describe('file triggers', () => {
    it('the repository root as working directory: any change triggers', () => {
      assert.equal(filesTrigger(ws(), ['docs/readme.md']), true);
      assert.equal(filesTrigger(ws(), []), false);
    });
    it('a change under the working directory or a trigger prefix triggers; others do not', () => {
      const s = ws({ workingDirectory: '/infra/prod/', triggerPrefixes: ['modules'] });
      assert.equal(filesTrigger(s, ['infra/prod/main.tf']), true);
      assert.equal(filesTrigger(s, ['modules/net/main.tf']), true);
      assert.equal(filesTrigger(s, ['infra/staging/main.tf', 'README.md']), false);
      // a prefix names a directory, not the start of a name
      assert.equal(filesTrigger(s, ['infra/production/main.tf']), false);
    });
    it('with trigger patterns, only the patterns decide', () => {
      const s = ws({ workingDirectory: 'infra', triggerPatterns: ['/shared/**/*.tf'] });
      assert.equal(filesTrigger(s, ['shared/x/y.tf']), true);
      assert.equal(filesTrigger(s, ['infra/main.tf']), false);
    });
  });

  describe('events', () => {
    it('a push to the tracked branch runs, with file triggers when they are on', () => {
      assert.deepEqual(decide(push(), repo(), ws()), { run: true, speculative: false, files: true });
      assert.deepEqual(decide(push(), repo(), ws({ fileTriggersEnabled: false })), { run: true, speculative: false, files: false });
    });
    it('a push to another branch, a deleted branch, or a tag-triggered workspace: no run', () => {
      assert.equal(decide(push({ branch: 'dev' }), repo(), ws()).run, false);
      assert.equal(decide(push({ deleted: true }), repo(), ws()).run, false);
      assert.equal(decide(push(), repo({ tagsRegex: '^v' }), ws()).run, false);
    });
    it('a tag matching tags-regex runs; others, deleted tags and workspaces without one do not', () => {
      const r = repo({ tagsRegex: '^v\\d+\\.\\d+\\.\\d+$' });
      assert.deepEqual(decide(tag('v1.2.3'), r, ws()), { run: true, speculative: false, files: false });
      assert.equal(decide(tag('v1.2'), r, ws()).run, false);
      assert.equal(decide(tag('release-1'), r, ws()).run, false);
      assert.equal(decide(tag('v1.2.3', { deleted: true }), r, ws()).run, false);
      assert.equal(decide(tag('v1.2.3'), repo(), ws()).run, false);
      assert.equal(decide(tag('v1'), repo({ tagsRegex: '([' }), ws()).run, false);
      // A regex that backtracks for ever matches nothing, in bounded time.
      assert.equal(decide(tag(`${'a'.repeat(40)}!`), repo({ tagsRegex: '^(a+)+$' }), ws()).run, false);
    });
    it('a pull request into the tracked branch is a speculative plan; a fork only when allowed', () => {
      assert.deepEqual(decide(pr(), repo(), ws()), { run: true, speculative: true, files: true });
      assert.equal(decide(pr({ action: 'updated' }), repo(), ws()).run, true);
      assert.equal(decide(pr({ action: 'reopened' }), repo(), ws()).run, true);
      assert.equal(decide(pr({ action: 'other' }), repo(), ws()).run, false);
      assert.equal(decide(pr({ baseBranch: 'dev' }), repo(), ws()).run, false);
      assert.equal(decide(pr(), repo(), ws({ speculativeEnabled: false })).run, false);
      assert.equal(decide(pr({ fromFork: true }), repo(), ws()).run, false);
      assert.equal(decide(pr({ fromFork: true }), repo({ allowForkPullRequests: true }), ws()).run, true);
    });
    it('a new branch has no commit before it', () => {
      assert.equal(isNewBranch('0'.repeat(40)), true);
      assert.equal(isNewBranch('a'.repeat(40)), false);
    });
  });
});
