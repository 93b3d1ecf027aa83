// Plan and apply logs as HTML: terraform's ANSI colours become classes (ansi_up), the text is
// escaped by ansi_up itself. One LogRenderer per log and per reader, fed the log in order, so a
// colour set in one chunk carries into the next.
import { AnsiUp } from 'ansi_up';
import { trusted, type Html } from '../html.js';

/**
 * ansi_up writes bold, faint, italic and underline (and 24-bit colours) as style attributes, which
 * the Content-Security-Policy refuses: they become classes (24-bit colours are dropped). The
 * attributes are ansi_up's own markup (the log's text is escaped, so it cannot contain `style="`).
 */
const STYLE_CLASSES: Record<string, string> = {
  'font-weight:bold': 'ansi-bold',
  'opacity:0.7': 'ansi-faint',
  'font-style:italic': 'ansi-italic',
  'text-decoration:underline': 'ansi-underline',
};

function withoutStyleAttributes(markup: string): string {
  return markup.replace(/<span style="([^"]*)"(?: class="([^"]*)")?>/g, (_all, styles: string, classes: string | undefined) => {
    const names = styles
      .split(';')
      .map((s) => STYLE_CLASSES[s])
      .filter((c): c is string => c !== undefined);
    if (classes) names.push(classes);
    return names.length > 0 ? `<span class="${names.join(' ')}">` : '<span>';
  });
}

export class LogRenderer {
  private readonly ansi = new AnsiUp();

  constructor() {
    this.ansi.use_classes = true;
    this.ansi.escape_html = true;
    // No links out of a log: a line a configuration printed is not to be trusted as a link.
    this.ansi.url_allowlist = {};
  }

  /** The next piece of the log as HTML, in the colours the pieces before it left set. */
  render(text: string): Html {
    // A carriage return would end a line of an event stream: lines end with \n only.
    return trusted(withoutStyleAttributes(this.ansi.ansi_to_html(text.replace(/\r\n?/g, '\n'))));
  }
}

/**
 * How many bytes of `data` end on a whole UTF-8 character: a chunk read at a byte offset may stop
 * inside one, and the rest of it comes with the next read.
 */
export function wholeUtf8Length(data: Buffer): number {
  let end = data.length;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  let i = end - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (data[i] & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return end;
  const lead = data[i];
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (size > continuation + 1) end = i;
  return end;
}
