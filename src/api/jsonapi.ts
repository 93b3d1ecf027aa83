// JSON:API encoding (jsonapi-serializer), pagination and include= handling, shared by every route.
import jsonapi from 'jsonapi-serializer';
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

function serializerOptions(spec: ResourceType, extra: { meta?: Record<string, unknown>; links?: Record<string, string | null> }) {
  const rels = spec.relationships ?? {};
  const opts: Record<string, unknown> = {
    attributes: [...spec.attributes, ...Object.keys(rels)],
    keyForAttribute: (key: string) => key,
    pluralizeType: false,
    // Called for the primary resource too (attr = its type): a view's own "type" attribute (state
    // outputs have one) must not become the resource type.
    typeForAttribute: (attr: string, value: Partial<Ref> | undefined) => (attr === spec.type ? spec.type : (value?.type ?? rels[attr] ?? attr)),
  };
  for (const name of Object.keys(rels)) opts[name] = { ref: 'id', included: false };
  for (const [name, related] of Object.entries(spec.linkedRelationships ?? {})) {
    (opts.attributes as string[]).push(name);
    opts[name] = { ref: 'id', included: false, ignoreRelationshipData: true, relationshipLinks: { related: (view: View) => related(view) } };
  }
  if (spec.selfLink) opts.dataLinks = { self: (view: View) => spec.selfLink!(view) };
  if (extra.meta) opts.meta = extra.meta;
  if (extra.links) opts.topLevelLinks = extra.links;
  return opts;
}

/** Encodes one resource or a list of them as a JSON:API document. */
export function encode(
  spec: ResourceType,
  views: View | View[],
  extra: { meta?: Record<string, unknown>; links?: Record<string, string | null>; included?: Resource[] } = {},
): Document {
  const serializer = new jsonapi.Serializer(spec.type, serializerOptions(spec, extra));
  // A linked relationship is serialized only when the view has its key.
  const linked = Object.keys(spec.linkedRelationships ?? {});
  const withLinks = (v: View): View => (linked.length ? { ...Object.fromEntries(linked.map((k) => [k, {}])), ...v } : v);
  const doc = serializer.serialize(Array.isArray(views) ? views.map(withLinks) : withLinks(views)) as Document;
  if (extra.included && extra.included.length > 0) doc.included = dedupe(extra.included);
  return doc;
}

/** Encodes views as resource objects, for the `included` member of another document. */
export function resources(spec: ResourceType, views: View[]): Resource[] {
  if (views.length === 0) return [];
  return encode(spec, views).data as Resource[];
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
