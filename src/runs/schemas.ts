// Request documents of the runs domain, one TypeBox schema each; their TypeScript types are derived
// from the schemas (src/api/schema.ts).
import { nullable, resourceDocument, toOne, toOneOrNull, Type, validator } from '../api/schema.js';

export const readCreateConfigurationVersion = validator(
  resourceDocument('configuration-versions', {
    attributes: Type.Optional(
      Type.Object({
        'auto-queue-runs': Type.Optional(Type.Boolean()),
        speculative: Type.Optional(Type.Boolean()),
        provisional: Type.Optional(Type.Boolean()),
      }),
    ),
  }),
);

const addresses = Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 1000 }));

export const readCreateRun = validator(
  resourceDocument('runs', {
    attributes: Type.Optional(
      Type.Object({
        message: Type.Optional(Type.String({ maxLength: 10_000 })),
        'is-destroy': Type.Optional(Type.Boolean()),
        refresh: Type.Optional(Type.Boolean()),
        'refresh-only': Type.Optional(Type.Boolean()),
        'plan-only': Type.Optional(Type.Boolean()),
        'target-addrs': addresses,
        'replace-addrs': addresses,
        variables: Type.Optional(
          Type.Array(
            Type.Object({
              key: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', 'x-message': 'must be a variable name' }),
              value: Type.String({ maxLength: 262_144 }),
            }),
            { maxItems: 1000 },
          ),
        ),
        'auto-apply': Type.Optional(Type.Boolean()),
        'allow-empty-apply': Type.Optional(Type.Boolean()),
        'save-plan': Type.Optional(Type.Boolean()),
        // An exact version, for a plan-only run (TFC); the workspace's own setting may be a constraint.
        'terraform-version': Type.Optional(
          Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.]+)?$', maxLength: 64, 'x-message': 'must be a version such as 1.9.5' }),
        ),
      }),
    ),
    relationships: Type.Object({
      workspace: toOne('workspaces'),
      'configuration-version': Type.Optional(toOneOrNull('configuration-versions')),
    }),
  }),
);

// The CLI sends plain JSON {} or {"comment": "..."} with the JSON:API content type.
export const readAction = validator(Type.Object({ comment: Type.Optional(nullable(Type.String({ maxLength: 10_000 }))) }));

/** The longest reason a force-end takes: a sentence or a ticket reference, not a report. */
export const MAX_FORCE_END_REASON = 1000;

// actions/force-end (otf's own, docs/timeouts-and-hooks.md): plain JSON {"reason": "..."}.
export const readForceEnd = validator(
  Type.Object(
    {
      reason: Type.String({ minLength: 1, maxLength: MAX_FORCE_END_REASON, 'x-message': `must be a text of 1 to ${MAX_FORCE_END_REASON} characters saying why the run is ended` }),
    },
    { additionalProperties: false },
  ),
  { plain: true },
);
