// Request bodies of the run triggers domain.
import { resourceDocument, toOne, Type, validator } from '../api/schema.js';

/** POST /workspaces/:id/run-triggers: the source workspace, as a relationship. */
export const readCreate = validator(resourceDocument('run-triggers', { relationships: Type.Object({ sourceable: toOne('workspaces') }) }));
