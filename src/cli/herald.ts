/**
 * `herald`, the command-line tool (`npx herald …`, via bin/herald.js). Every command reads the
 * same environment as the gateway, so in local mode it needs no setup at all.
 */
import {
  CommandError,
  EXIT_FAILURE,
  EXIT_USAGE,
  UsageError,
  type CliContext,
  type Command,
} from './command';
import { devTokenCommand } from './dev-token-command';
import { migrateCommand } from './migrate-command';
import { signCommand } from './sign-command';
import { statusCommand } from './status-command';

export const COMMANDS: readonly Command[] = [
  migrateCommand,
  signCommand,
  devTokenCommand,
  statusCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
  return `Usage: herald <command> [options]

Commands:
${lines.join('\n')}

\`herald <command> --help\` tells more. Each command reads the gateway's own environment
(WEBHOOK_SECRETS, JWT_SECRET, ADMIN_TOKEN, DATABASE_URL, PORT); with none set, the local-mode
development defaults that \`npm start\` prints. HERALD_URL says where the gateway answers
(default http://127.0.0.1:3000).
`;
}

/** Runs one command line; resolves to the exit code. Never throws for bad input. */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const [name, ...rest] = args;
  if (name === '-h' || name === '--help') {
    context.stdout(overview());
    return 0;
  }
  if (name === 'help') return help(rest[0], context);
  if (name === undefined) {
    return usageError('herald', 'name a command (migrate, sign, dev-token, status)', context);
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    const known = COMMANDS.map((candidate) => candidate.name).join(', ');
    return usageError('herald', `unknown command "${name}"; commands: ${known}`, context);
  }

  try {
    return await command.run(rest, context);
  } catch (err) {
    if (err instanceof UsageError) return usageError(`herald ${name}`, err.message, context);
    // A CommandError's reason, or the first line of anything unforeseen: never a stack.
    const reason = err instanceof CommandError ? err.message : firstLine(err);
    context.stderr(`herald ${name}: ${reason}\n`);
    return EXIT_FAILURE;
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

function help(name: string | undefined, context: CliContext): number {
  if (name === undefined) {
    context.stdout(overview());
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) return usageError('herald help', `unknown command "${name}"`, context);
  context.stdout(command.help);
  return 0;
}

function usageError(prefix: string, reason: string, context: CliContext): number {
  const helpCommand =
    prefix === 'herald' || prefix === 'herald help' ? 'herald --help' : `${prefix} --help`;
  context.stderr(`${prefix}: ${reason} (see ${helpCommand})\n`);
  return EXIT_USAGE;
}

/** The process entry: bin/herald.js calls this. */
export function main(args = process.argv.slice(2)): void {
  const context: CliContext = {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
  runCli(args, context)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      process.stderr.write(`herald: ${firstLine(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    });
}

if (require.main === module) main();
