import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { MAIN_JS, ROOT } from './build-once';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A gateway running as its own process (`node dist/src/main.js`), as production runs it. */
export interface ChildGateway {
  name: string;
  pid: number;
  port: number;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Resolves once the process is gone, however it went. */
  exited: Promise<ChildExit>;
  /** The process's last lines of output, for a failing test's message. */
  output(): string;
  /** The first lines the process wrote to one stream (up to FIRST_LINES of them). */
  firstLines(stream: 'stdout' | 'stderr'): string[];
  /** Sends a signal and waits for the process to go. */
  stop(signal: NodeJS.Signals): Promise<ChildExit>;
}

export interface ChildGatewayOptions {
  /** Shown in failure messages, to tell several children apart. */
  name?: string;
  /** The gateway's environment (DATABASE_URL, FCM_EMULATOR_HOST, WEBHOOK_SECRETS, ...). */
  env: Record<string, string>;
  /** How long the process may take to answer 200 on /readyz. */
  readyTimeoutMs?: number;
  /** The process's working directory; the repository root by default. */
  cwd?: string;
  /**
   * Run with `env`, PATH and PORT only, leaving out the test defaults (NODE_ENV, HOST,
   * LOG_LEVEL), as `npm start` runs in a shell that sets nothing.
   */
  bareEnv?: boolean;
}

const OUTPUT_LINES = 200;
const FIRST_LINES = 50;
const children = new Set<ChildProcess>();

// A test run that dies without its afterAll must not leave gateways behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a gateway process on a free loopback port and waits until it is ready. The port is
 * picked before the process binds it, so a lost race is retried with another port.
 */
export async function startChildGateway(options: ChildGatewayOptions): Promise<ChildGateway> {
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries += 1) {
    const child = launch(options, await freePort());
    try {
      await waitUntilReady(child, options.readyTimeoutMs ?? 30_000);
      return child;
    } catch (err) {
      lastError = err;
      await child.stop('SIGKILL');
      if (!child.output().includes('EADDRINUSE')) break;
    }
  }
  throw lastError;
}

/** Kills every child still running (afterAll, whatever happened in the tests). */
export async function killAllChildren(): Promise<void> {
  const exits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
}

function launch(options: ChildGatewayOptions, port: number): ChildGateway {
  const name = options.name ?? 'gateway';
  const defaults = options.bareEnv
    ? {}
    : { NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', ...defaults, ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);

  const lines: string[] = [];
  const first = { stdout: [] as string[], stderr: [] as string[] };
  const keep = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const received = chunk.toString('utf8').split('\n').filter(Boolean);
    lines.push(...received);
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
    first[stream].push(...received.slice(0, FIRST_LINES - first[stream].length));
  };
  child.stdout?.on('data', keep('stdout'));
  child.stderr?.on('data', keep('stderr'));

  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const stopped = () => child.exitCode !== null || child.signalCode !== null;

  return {
    name,
    pid: child.pid ?? -1,
    port,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => `--- last output of ${name} (pid ${String(child.pid)}) ---\n${lines.join('\n')}`,
    firstLines: (stream) => [...first[stream]],
    async stop(signal) {
      if (!stopped()) child.kill(signal);
      return exited;
    },
  };
}

async function waitUntilReady(child: ChildGateway, timeoutMs: number): Promise<void> {
  let gone = false;
  void child.exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${child.name} exited while starting\n${child.output()}`);
    try {
      const res = await fetch(`${child.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${child.name} was not ready within ${timeoutMs} ms\n${child.output()}`);
}
