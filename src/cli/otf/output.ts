// What otf prints on stdout: for people, aligned tables (a header row, one line per item) and
// "key: value" lines for one item; with --json, the JSON:API resources themselves (the data
// objects; an array for lists).
import type { Resource } from './client.js';

/** A column of a table, or a line of a one-item view. */
export interface Field {
  /** The key of "key: value" lines; its upper-case form heads table columns. */
  name: string;
  value(r: Resource): unknown;
}

/** How a kind of resource is shown: the columns of its lists and the lines of one. */
export interface View {
  columns: Field[];
  fields: Field[];
}

export interface Sink {
  write(chunk: string | Buffer): unknown;
}

/** One value as a table cell or after "key: ". */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'string') return v.replace(/[\r\n]+/g, ' ');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map(formatValue).join(', ');
  return JSON.stringify(v);
}

/** Rows aligned in columns two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export class Output {
  constructor(
    private readonly stdout: Sink,
    readonly json: boolean,
  ) {}

  write(text: string | Buffer): void {
    this.stdout.write(text);
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A list: a table, or a JSON array of the resources. */
  list(items: Resource[], view: View): void {
    if (this.json) return this.printJson(items);
    const header = view.columns.map((c) => c.name.toUpperCase());
    this.write(table(header, items.map((r) => view.columns.map((c) => formatValue(c.value(r))))));
  }

  /** One item: "key: value" lines, or the resource as JSON. */
  one(item: Resource, view: View): void {
    if (this.json) return this.printJson(item);
    for (const f of view.fields) this.line(`${f.name}: ${formatValue(f.value(item))}`);
  }

  /** The outcome of an action: a sentence for people; the resource it concerns with --json. */
  done(message: string, resource: Resource | null): void {
    if (this.json) return this.printJson(resource);
    this.line(message);
  }
}

/** A field showing an attribute under its own name. */
export function attribute(name: string, label = name): Field {
  return { name: label, value: (r) => r.attributes[name] };
}

export const idField: Field = { name: 'id', value: (r) => r.id };
