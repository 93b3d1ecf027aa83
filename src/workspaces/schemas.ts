// Request documents of the workspaces domain, one TypeBox schema each; their TypeScript types are
// derived from the schemas (src/api/schema.ts).
import { nameSchema, nullable, resourceDocument, stringEnum, toMany, toOne, toOneOrNull, Type, untypedResourceDocument, validator, type Static } from '../api/schema.js';

const tagName = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9]([A-Za-z0-9:_-]*[A-Za-z0-9])?$',
  'x-message': 'must be letters, digits, ":", "-" or "_", starting and ending with a letter or digit',
});

/** A tag named by its id or by attributes.name. */
const tagRef = Type.Object(
  {
    type: Type.Literal('tags'),
    id: Type.Optional(Type.String({ minLength: 1 })),
    attributes: Type.Optional(Type.Object({ name: tagName })),
  },
  { anyOf: [{ required: ['id'] }, { required: ['attributes'] }], 'x-message': 'must be a tag with an id or with attributes.name' },
);

const binding = Type.Object({
  type: Type.Literal('tag-bindings'),
  attributes: Type.Object({
    key: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$', 'x-message': 'must be 1 to 128 printable characters' }),
    value: Type.Optional(Type.String({ maxLength: 256, pattern: '^[^\\u0000-\\u001f]*$', 'x-message': 'must be at most 256 printable characters' })),
  }),
});

const tagList = Type.Object({ data: Type.Array(tagRef, { maxItems: 100 }) });
const bindingList = Type.Object({ data: Type.Array(binding, { maxItems: 100 }) });

const flag = Type.Optional(Type.Boolean());

/**
 * Terraform Cloud's vcs-repo, plus otf-ts's allow-fork-pull-requests and poll-interval-seconds.
 * null on an update disconnects the repository. Lengths are bounded here; the service checks the
 * rest (branch names, the regex, the interval), the connections domain the repository and token.
 */
const vcsRepo = Type.Optional(
  nullable(
    Type.Object({
      identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      'oauth-token-id': Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      branch: Type.Optional(nullable(Type.String({ maxLength: 255 }))),
      'tags-regex': Type.Optional(nullable(Type.String({ maxLength: 255 }))),
      'ingress-submodules': flag,
      'github-app-installation-id': Type.Optional(nullable(Type.String({ maxLength: 100 }))),
      'allow-fork-pull-requests': flag,
      'poll-interval-seconds': Type.Optional(nullable(Type.Integer())),
    }),
  ),
);
const stringList = Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 }));

/** Every attribute but the name, which a new workspace must have. */
const settings = {
  description: Type.Optional(Type.String({ maxLength: 10_000 })),
  'execution-mode': Type.Optional(stringEnum(['remote', 'local', 'agent'])),
  engine: Type.Optional(stringEnum(['terraform', 'tofu'])),
  operations: flag,
  'auto-apply': flag,
  'auto-apply-run-trigger': flag,
  'allow-destroy-plan': flag,
  'file-triggers-enabled': flag,
  'global-remote-state': flag,
  'queue-all-runs': flag,
  'assessments-enabled': flag,
  // otf's own (docs/timeouts-and-hooks.md): seconds or a duration string, null to follow the organization; checked by parseTimeoutAttribute.
  'plan-timeout': Type.Optional(Type.Unknown()),
  'apply-timeout': Type.Optional(Type.Unknown()),
  // Whether the workspace's own execution mode and agent pool count (true) or its organization's defaults (false).
  'setting-overwrites': Type.Optional(Type.Object({ 'execution-mode': flag, 'agent-pool': flag })),
  'speculative-enabled': flag,
  'structured-run-output-enabled': flag,
  'terraform-version': Type.Optional(Type.String({ minLength: 1 })),
  'working-directory': Type.Optional(nullable(Type.String())),
  'trigger-prefixes': stringList,
  'trigger-patterns': stringList,
  'source-name': Type.Optional(nullable(Type.String({ maxLength: 255 }))),
  'source-url': Type.Optional(nullable(Type.String({ maxLength: 2048 }))),
  'tag-names': Type.Optional(Type.Array(tagName, { maxItems: 100 })),
  'agent-pool-id': Type.Optional(nullable(Type.String({ maxLength: 100 }))),
  'vcs-repo': vcsRepo,
};

const relationships = Type.Optional(
  Type.Object({
    project: Type.Optional(toOne('projects')),
    'agent-pool': Type.Optional(toOneOrNull('agent-pools')),
    tags: Type.Optional(tagList),
    'tag-bindings': Type.Optional(bindingList),
  }),
);

const createWorkspace = resourceDocument('workspaces', { attributes: Type.Object({ name: nameSchema, ...settings }), relationships });
const updateWorkspace = resourceDocument('workspaces', { attributes: Type.Optional(Type.Object({ name: Type.Optional(nameSchema), ...settings })), relationships });

/** A workspace document, of a create (which names the workspace) or of an update. */
export type WorkspaceDocument = Static<typeof updateWorkspace>;
export type TagRefDocument = Static<typeof tagRef>;
export type BindingDocument = Static<typeof binding>;

export const readCreate = validator(createWorkspace);
export const readUpdate = validator(updateWorkspace);
export const readTagList = validator(tagList);
export const readBindingList = validator(bindingList);
export const readWorkspaceList = validator(toMany('workspaces'));
/** PATCH /workspaces/:id/relationships/ssh-key: go-tfe names the key in attributes.id; null unassigns it. */
export const readSshKeyAssignment = validator(
  resourceDocument('workspaces', {
    attributes: Type.Object({ id: nullable(Type.String({ minLength: 1, maxLength: 100, 'x-message': 'must be the id of an SSH key, or null' })) }),
  }),
);
export const readLock = validator(
  untypedResourceDocument({
    attributes: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) })),
  }),
);
