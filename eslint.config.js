import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  // Domains reach each other only through their module file (src/<domain>/index.ts): what a domain
  // offers others is listed there, and its store, routes and presenters stay its own. otfd's wiring
  // (src/server.ts) goes through the same door. test/boundaries.test.ts shows the rule refusing.
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\./|(\\.\\./)+)(assessments|audit|connections|ingress|jobs|orgs|pools|projects|retention|runs|sshkeys|state|teams|triggers|users|variables|varsets|webhooks|workspaces)/(?!index\\.js$)',
              message: 'Import another domain only through its module file, e.g. ../runs/index.js.',
            },
            // The vcs domain's shared shapes (types.ts) are for every domain taking part in VCS-driven runs.
            { regex: '^(\\./|(\\.\\./)+)vcs/(?!(index|types)\\.js$)', message: 'Import the vcs domain through ../vcs/index.js (its shared shapes through ../vcs/types.js).' },
            // The notifications domain's trigger names (triggers.ts) are shared with the domains that raise them.
            { regex: '^(\\./|(\\.\\./)+)notifications/(?!(index|triggers)\\.js$)', message: 'Import the notifications domain through ../notifications/index.js (its trigger names through ../notifications/triggers.js).' },
          ],
        },
      ],
    },
  },
  // otf-agent runs inside users' networks: the pool agent, the runner core it shares with otfd's
  // server agent, and the agent protocol's shared module import nothing of the server (no
  // database, no domain), so that installing and starting it pulls in neither knex nor pg.
  // test/agent-imports.test.ts checks both this rule and the modules otf-agent really loads.
  {
    files: ['src/agent/**/*.ts', 'src/protocol/**/*.ts', 'src/cli/otf-agent.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(knex|pg|pg-[a-z-]+|koa|@koa/.*)(/.*)?$', message: 'otf-agent must not load the server\'s database or HTTP stack.' },
            {
              regex: '(^|/)(api|auth|blobs|db|jobs|orgs|pools|projects|runs|state|teams|users|variables|workspaces)(/|$)',
              message: 'otf-agent imports nothing of the server: share names and shapes through src/protocol/agent.ts.',
            },
            { regex: '^(\\.\\./)+(server|config)\\.js$', message: 'otf-agent imports nothing of the server (otfd\'s wiring and configuration).' },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/*'],
    languageOptions: { globals: { process: 'readonly' } },
  },
);
