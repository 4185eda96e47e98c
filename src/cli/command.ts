import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config';

type Env = Readonly<Record<string, string | undefined>>;

/** What a command may touch: its environment and the two output streams. */
export interface CliContext {
  env: Env;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command {
  name: string;
  /** One line for `herald --help`. */
  summary: string;
  /** The whole of `herald <name> --help`. */
  help: string;
  /** Resolves to the exit code; throws `UsageError` or `CommandError` with a one-line reason. */
  run(args: string[], context: CliContext): Promise<number>;
}

/** Bad arguments: exit 2, and a pointer to the command's --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command could not do its work: exit 1 with the reason. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * What util.parseArgs returns for a command's options, named here because its own name for them
 * is not exported by node:util, and the build's declaration files must write the type out.
 */
type ParsedOptions<T extends Options> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: T & { help: { type: 'boolean'; short: string } };
    allowPositionals: boolean;
    strict: true;
  }>
>;

/**
 * util.parseArgs in strict mode, with its errors turned into short `UsageError`s. `--help` is
 * added to every command's options.
 */
export function parseOptions<T extends Options>(
  args: string[],
  options: T,
  allowPositionals = false,
): ParsedOptions<T> {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(parseArgsReason(err));
  }
}

function parseArgsReason(err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  const firstLine = (message ?? String(err)).split('\n')[0].replace(/\.$/, '');
  const option = /'(-{1,2}[\w-]+)/.exec(firstLine)?.[1];
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return /does not take/.test(firstLine)
      ? `option ${option} takes no value`
      : `option ${option} needs a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return `unknown option ${option}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /'([^']*)'/.exec(firstLine)?.[1] ?? '';
    return `unexpected argument "${argument}"`;
  }
  return firstLine.charAt(0).toLowerCase() + firstLine.slice(1);
}

/**
 * The gateway's own configuration from the same environment, local-mode defaults included, so
 * the CLI signs and authenticates with exactly the secrets the gateway checks.
 */
export function gatewayConfig(env: Env): Readonly<Config> {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandError(`configuration error: ${err.message}`);
    throw err;
  }
}

/**
 * Where the gateway answers: `--url`, else HERALD_URL, else this machine at the configured
 * PORT (3000 by default).
 */
export function gatewayUrl(option: string | undefined, env: Env, config: Config): URL {
  const given = option ?? (env.HERALD_URL?.trim() || undefined);
  if (given === undefined) return new URL(`http://127.0.0.1:${config.port}`);
  try {
    const url = new URL(given);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below, with the name of the setting
  }
  if (option === undefined) throw new CommandError(`HERALD_URL is not an http(s) URL: ${given}`);
  throw new UsageError(`--url is not an http(s) URL: ${given}`);
}

/** `path` under the gateway's URL, keeping any path prefix it sits behind. */
export function endpoint(base: URL, path: string): URL {
  const root = new URL(base);
  if (!root.pathname.endsWith('/')) root.pathname += '/';
  return new URL(path.replace(/^\//, ''), root);
}
