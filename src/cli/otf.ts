// The otf command: the admin CLI of otfd over its API. Exit code 0 when done, 1 with one line on
// stderr when something failed, 2 for a command line it cannot make sense of.
import { runCli } from './otf/cli.js';
import { NOUNS } from './otf/nouns.js';

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// A reader that went away (otf ... | head) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), NOUNS, { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: readStdin });
  // Exit once what was written has been handed to the OS.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

void main();
