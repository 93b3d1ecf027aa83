// HTML for the web UI, written as TypeScript template literals. Every value put into a template is
// escaped unless it is already Html (a fragment built the same way): user-supplied text (names,
// descriptions, log lines, comments) can never become markup. Templates are plain functions, so
// the compiler checks the data each page gets, and there are no template files to ship.

/** A fragment of HTML that is safe to put into a page as it is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What a template accepts in a ${...}: text is escaped, Html kept, lists joined, null/false dropped. */
export type HtmlValue = Html | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** The tag of every template: html`<p>${name}</p>` escapes name. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/**
 * Markup made elsewhere and known to be safe (ANSI-coloured log lines from ansi_up, which escapes
 * the text itself). Never for anything a user typed.
 */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** The value of a boolean attribute: html`<input ${attr('checked', on)}>`. */
export function attr(name: string, on: boolean): Html {
  return new Html(on ? name : '');
}
