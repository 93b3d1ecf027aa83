// Renders variables as the content of an HCL .tfvars file for a run: one `key = <expr>` per
// variable. A plain value becomes an HCL string literal that terraform reads back exactly; an HCL
// value (and a run variable from the CLI's -var, which arrives HCL-encoded) is written as is.
//
// The runner passes the files with -var-file (the workspace's first, the run's second), which
// terraform reads after terraform.tfvars and every *.auto.tfvars file: workspace variables beat
// the configuration's own values, and run variables beat both, as in Terraform Cloud.

/** A variable that cannot be written as terraform would read it; the message names it, never its value. */
export class TfvarsError extends Error {}

/** A terraform variable name; also an HCL identifier ("-" is allowed in both). */
const VARIABLE_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Workspace variables of the terraform category: hcl=false values as string literals, hcl=true raw.
 * Terraform Cloud accepts any key, but a key that is no terraform variable name can match no
 * variable of any configuration (terraform would only warn that it is undeclared) and cannot be
 * written in a .tfvars file at all: such variables are left out.
 */
export function renderTfvars(vars: Array<{ key: string; value: string; hcl: boolean }>): string {
  return render(
    vars.filter((v) => isVariableName(v.key)).map((v) => ({ key: v.key, expression: v.hcl ? rawExpression(v.key, v.value) : stringLiteral(v.key, v.value) })),
  );
}

/** Whether the key can name a terraform variable. */
export function isVariableName(key: string): boolean {
  return VARIABLE_NAME.test(key);
}

/** Run variables from the CLI's -var: their values are HCL literals already (e.g. "\"yo\"", ["a"]). */
export function renderRunVariables(vars: Array<{ key: string; value: string }>): string {
  return render(vars.map((v) => ({ key: v.key, expression: rawExpression(v.key, v.value) })));
}

function render(lines: Array<{ key: string; expression: string }>): string {
  const seen = new Set<string>();
  let out = '';
  for (const { key, expression } of lines) {
    if (!VARIABLE_NAME.test(key)) {
      throw new TfvarsError(`${JSON.stringify(key)} is not a valid terraform variable name (a letter or "_", then letters, digits, "_" or "-")`);
    }
    // terraform rejects a file that sets a key twice ("Attribute redefined")
    if (seen.has(key)) throw new TfvarsError(`variable "${key}" is given twice`);
    seen.add(key);
    out += `${key} = ${expression}\n`;
  }
  return out;
}

function checkWellFormed(key: string, value: string): void {
  // Written as UTF-8, an unpaired surrogate would silently become U+FFFD.
  if (LONE_SURROGATE.test(value)) throw new TfvarsError(`the value of variable "${key}" is not valid Unicode text (unpaired surrogate)`);
}

/**
 * An HCL expression, written as is. On one line it follows `key = ` directly. Spanning lines, it is
 * put in parentheses on lines of their own: inside parentheses HCL ignores newlines, so the
 * expression may start with a newline or a comment, and a heredoc's closing marker keeps a line
 * of its own. (After `key =` the expression must begin on the same line.)
 */
function rawExpression(key: string, value: string): string {
  if (value.trim() === '') throw new TfvarsError(`variable "${key}" is HCL but its value is empty, which is not an expression`);
  checkWellFormed(key, value);
  return /[\r\n]/.test(value) ? `(\n${value}\n)` : value;
}

/**
 * A quoted HCL string whose value is exactly `value`: `\` and `"` escaped, newline, carriage return
 * and tab as \n \r \t, other control characters as \uNNNN, and the template introducers `${` and
 * `%{` doubled to `$${` and `%%{` so they stay literal.
 */
function stringLiteral(key: string, value: string): string {
  checkWellFormed(key, value);
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    const code = value.charCodeAt(i);
    if (c === '\\') out += '\\\\';
    else if (c === '"') out += '\\"';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if ((c === '$' || c === '%') && value[i + 1] === '{') out += c + c;
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += c;
  }
  return out + '"';
}
