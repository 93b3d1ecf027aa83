// JSON:API encoding, pagination and include= handling, shared by every route.
import { BadRequestError, InvalidError } from '../errors.js';

export const MEDIA_TYPE = 'application/vnd.api+json';

/** A related resource as presenters give it: its id, and its type when the relationship is polymorphic. */
export interface Ref {
  id: string;
  type?: string;
}

/** What a presenter returns: id, dash-case attributes, and relationship names mapped to refs. */
export type View = { id: string } & Record<string, unknown>;

export interface ResourceType {
  /** The JSON:API type string, exactly as Terraform Cloud spells it. */
  type: string;
  attributes: readonly string[];
  /** Relationship name → type of the related resource (the default when a Ref names none). */
  relationships?: Readonly<Record<string, string>>;
  /** Path of the resource's self link, e.g. /api/v2/workspaces/ws-1. */
  selfLink?: (view: View) => string;
  /** Path of the resource's page in Terraform Cloud's web UI (links.self-html), which clients read. */
  htmlLink?: (view: View) => string;
  /** Relationships given only as a link to their list, e.g. a pool's agents. */
  linkedRelationships?: Readonly<Record<string, (view: View) => string>>;
}

export interface Resource {
  id: string;
  type: string;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, unknown>;
  links?: Record<string, string>;
}

export interface Document {
  data: Resource | Resource[] | null;
  included?: Resource[];
  meta?: Record<string, unknown>;
  links?: Record<string, string | null>;
}

/**
 * What encoding a resource type needs, worked out once per type: every member a view may carry, in
 * the order it is written, and for each whether it is an attribute, a relationship (with the type
 * its refs default to) or a relationship given only as a link.
 */
interface Plan {
  members: Array<
    | { kind: 'attribute'; name: string }
    | { kind: 'relationship'; name: string; type: string }
    | { kind: 'linked'; name: string; related: (view: View) => string }
  >;
}

const plans = new WeakMap<ResourceType, Plan>();

function planOf(spec: ResourceType): Plan {
  let plan = plans.get(spec);
  if (!plan) {
    plan = {
      members: [
        ...spec.attributes.map((name) => ({ kind: 'attribute' as const, name })),
        ...Object.entries(spec.relationships ?? {}).map(([name, type]) => ({ kind: 'relationship' as const, name, type })),
        ...Object.entries(spec.linkedRelationships ?? {}).map(([name, related]) => ({ kind: 'linked' as const, name, related })),
      ],
    };
    plans.set(spec, plan);
  }
  return plan;
}

/** A relationship's linkage: a ref with an id becomes { type, id }; anything else is null. */
function linkage(value: unknown, defaultType: string): { type: string; id: string } | null {
  const ref = value as Partial<Ref> | null | undefined;
  if (!ref || !ref.id) return null;
  return { type: ref.type ?? defaultType, id: String(ref.id) };
}

function forceType(l: { type: string; id: string } | null, type: string): { type: string; id: string } | null {
  return l && { type, id: l.id };
}

/**
 * One view as a resource object: type, id, links.self, then the attributes and relationships the
 * spec names that the view carries (a member the view lacks is left out; null stays null). A
 * linked relationship is always written, as { links: { related } }.
 */
function resourceOf(spec: ResourceType, plan: Plan, view: View): Resource {
  const out: Resource = { type: spec.type } as Resource;
  if (view.id !== undefined && view.id !== null) out.id = String(view.id);
  if (spec.selfLink) out.links = { self: spec.selfLink(view) };
  if (spec.htmlLink) out.links = { ...out.links, 'self-html': spec.htmlLink(view) };
  let attributes: Record<string, unknown> | undefined;
  let relationships: Record<string, unknown> | undefined;
  for (const m of plan.members) {
    if (m.kind !== 'linked' && !(m.name in view)) continue;
    attributes ??= {};
    if (m.kind === 'attribute') {
      attributes[m.name] = view[m.name];
      continue;
    }
    relationships ??= {};
    if (m.kind === 'linked') {
      const related = m.related(view);
      relationships[m.name] = related ? { links: { related } } : {};
      continue;
    }
    // A relationship named like the resource's own type keeps that type whatever its refs say (as it
    // always has); others take a ref's own type, else the spec's.
    const value = view[m.name];
    const link = m.name === spec.type ? (v: unknown) => forceType(linkage(v, spec.type), spec.type) : (v: unknown) => linkage(v, m.type);
    relationships[m.name] = { data: Array.isArray(value) ? value.map(link) : link(value) };
  }
  if (attributes) out.attributes = attributes;
  if (relationships) out.relationships = relationships;
  return out;
}

/** Encodes one resource or a list of them as a JSON:API document. */
export function encode(
  spec: ResourceType,
  views: View | View[],
  extra: { meta?: Record<string, unknown>; links?: Record<string, string | null>; included?: Resource[] } = {},
): Document {
  const plan = planOf(spec);
  const doc = {} as Document;
  if (extra.links) doc.links = { ...extra.links };
  if (extra.meta) doc.meta = { ...extra.meta };
  doc.data = Array.isArray(views) ? views.map((v) => resourceOf(spec, plan, v)) : resourceOf(spec, plan, views);
  if (extra.included && extra.included.length > 0) doc.included = dedupe(extra.included);
  return doc;
}

/** Encodes views as resource objects, for the `included` member of another document. */
export function resources(spec: ResourceType, views: View[]): Resource[] {
  const plan = planOf(spec);
  return views.map((v) => resourceOf(spec, plan, v));
}

function dedupe(included: Resource[]): Resource[] {
  const seen = new Set<string>();
  return included.filter((r) => {
    const key = `${r.type}/${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Timestamps as the terraform CLI parses them: RFC 3339 in UTC ending in Z. */
export function timestamp(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

// ---------------------------------------------------------------- pagination

export interface Page {
  number: number;
  size: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export type Query = Record<string, string | string[] | undefined>;

/** One value of a query parameter; a repeated parameter keeps its last value. */
export function queryValue(query: Query, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** The most values one list filter (search[tags], filter[names], include=, ...) may carry. */
export const MAX_LIST_VALUES = 100;

/**
 * The comma-separated values of a list filter, trimmed and without duplicates; undefined when the
 * parameter is absent. More than MAX_LIST_VALUES distinct values is a 422, so that no request
 * makes the database match thousands of values.
 */
export function listParam(query: Query, name: string): string[] | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  const values = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (values.length > MAX_LIST_VALUES) {
    throw new InvalidError(`query parameter ${name} may list at most ${MAX_LIST_VALUES} values, got ${values.length}`, { parameter: name });
  }
  return values;
}

function positiveInt(query: Query, name: string, fallback: number): number {
  const raw = queryValue(query, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new BadRequestError(`query parameter ${name} must be a whole number of at least 1, got "${raw}"`, { parameter: name });
  }
  return Number(raw);
}

/** The highest page[number]: beyond it an offset would no longer be a whole number PostgreSQL reads. */
export const MAX_PAGE_NUMBER = 1_000_000;

/** page[number] (from 1) and page[size] (default 20, at most 100; larger sizes are clamped, as TFC does). */
export function parsePage(query: Query): Page {
  const number = positiveInt(query, 'page[number]', 1);
  if (number > MAX_PAGE_NUMBER) {
    throw new BadRequestError(`query parameter page[number] may be at most ${MAX_PAGE_NUMBER}`, { parameter: 'page[number]' });
  }
  const size = Math.min(positiveInt(query, 'page[size]', DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  return { number, size };
}

export function pageOffset(page: Page): number {
  return (page.number - 1) * page.size;
}

/** meta.pagination and links for a page of a list whose full length is total. */
export function paginate(page: Page, total: number, url: URL): { meta: Record<string, unknown>; links: Record<string, string | null> } {
  const totalPages = Math.max(1, Math.ceil(total / page.size));
  const link = (n: number) => {
    const u = new URL(url);
    u.searchParams.set('page[number]', String(n));
    u.searchParams.set('page[size]', String(page.size));
    return u.toString();
  };
  const prev = page.number > 1 ? page.number - 1 : null;
  const next = page.number < totalPages ? page.number + 1 : null;
  return {
    meta: {
      pagination: {
        'current-page': page.number,
        'page-size': page.size,
        'prev-page': prev,
        'next-page': next,
        'total-pages': totalPages,
        'total-count': total,
      },
    },
    links: {
      self: link(page.number),
      first: link(1),
      prev: prev === null ? null : link(prev),
      next: next === null ? null : link(next),
      last: link(totalPages),
    },
  };
}

// ---------------------------------------------------------------- include=

/** The include= paths asked for, normalised to underscores (TFC accepts both spellings). */
export function parseIncludes(query: Query): Set<string> {
  return new Set((listParam(query, 'include') ?? []).map((s) => s.replace(/-/g, '_')));
}
