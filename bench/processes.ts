/**
 * The processes a bench run starts: the FCM emulator, the gateway and the plain firebase-admin
 * peer, each a child of its own so that none shares another's CPU time or heap (the gateway's
 * peak memory is read from its own /proc entry).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** dist/, where the compiled gateway, emulator and bench scripts live. */
const DIST = join(__dirname, '..');

export interface Child {
  readonly pid: number;
  /**
   * Asks the process to stop (SIGTERM), then kills it if it has not gone after `graceMs`: long
   * enough for the gateway's own bound (its grace, then a send in flight timing out), so that
   * `--cpu-prof` gets to write its profile.
   */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1, for a child to listen on. */
export function freePort(): Promise<number> {
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

function launch(script: string, args: string[], env: NodeJS.ProcessEnv, node: string[] = []) {
  const child = spawn(process.execPath, [...node, join(DIST, script), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited, stderr: () => stderr };
}

function stopper(child: ChildProcess, exited: Promise<unknown>) {
  return async (graceMs = 45_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
}

export interface EmulatorProcess extends Child {
  /** `127.0.0.1:PORT`, the value of FCM_EMULATOR_HOST. */
  readonly host: string;
  accepted(): Promise<number>;
  cpuMs(): number;
  setLatency(ms: number): Promise<void>;
}

/** The bundled emulator in its own process, keeping counters only. */
export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const port = await freePort();
  const { child, exited, stderr } = launch(
    'src/emulator/cli.js',
    ['--port', String(port), '--no-record', '--quiet'],
    { ...process.env },
  );
  const host = `127.0.0.1:${port}`;
  await waitFor(`http://${host}/__emulator/health`, exited, stderr, 'the FCM emulator');
  const control = (path: string, init?: RequestInit) =>
    fetch(`http://${host}/__emulator/${path}`, init);
  return {
    pid: child.pid as number,
    host,
    cpuMs: () => cpuMs(child.pid as number),
    async accepted() {
      const stats = (await (await control('stats')).json()) as { accepted: number };
      return stats.accepted;
    },
    async setLatency(ms) {
      const res = await control('latency', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ms }),
      });
      if (res.status !== 204) throw new Error(`emulator refused latency ${ms}: ${res.status}`);
    },
    stop: stopper(child, exited),
  };
}

export interface GatewayProcess extends Child {
  readonly url: string;
  /** Where the gateway's log lines go. */
  readonly logFile: string;
  /** The most resident memory the process has had (VmHWM), in bytes. */
  peakRss(): number;
  /** CPU time it has used so far, in milliseconds. */
  cpuMs(): number;
}

/**
 * `node dist/src/main.js` with the given environment, ready once /readyz answers 200. With
 * `cpuProfileDir`, the gateway runs under `--cpu-prof` and writes its profile there on exit.
 */
export async function startGateway(
  env: Record<string, string>,
  options: { cpuProfileDir?: string } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const node = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const { child, exited, stderr } = launch(
    'src/main.js',
    [],
    { PATH: process.env.PATH, ...env, PORT: String(port), HOST: '127.0.0.1' },
    node,
  );
  // Warnings and errors only (LOG_LEVEL=warn), kept for a look after a failed run.
  const logFile = join(tmpdir(), `herald-bench-gateway-${child.pid}.log`);
  child.stdout?.pipe(createWriteStream(logFile));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, exited, stderr, 'the gateway');
  const pid = child.pid as number;
  return {
    pid,
    url,
    logFile,
    peakRss: () => statusField(pid, 'VmHWM'),
    cpuMs: () => cpuMs(pid),
    stop: stopper(child, exited),
  };
}

/**
 * The bare-handler peer of the ingest figure (bench/bare-ingest.ts), ready once it answers.
 * With `cpuProfileDir` it runs under `--cpu-prof` too, so both sides of the ratio can be read.
 */
export async function startBareIngest(
  databaseUrl: string,
  secret: string,
  options: { cpuProfileDir?: string } = {},
): Promise<Child & { url: string }> {
  const port = await freePort();
  const { child, exited, stderr } = launch(
    'bench/bare-ingest.js',
    [String(port), databaseUrl, secret],
    { PATH: process.env.PATH },
    options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [],
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/ready`, exited, stderr, 'the bare ingest handler');
  return { pid: child.pid as number, url, stop: stopper(child, exited) };
}

/**
 * Runs `dist/bench/<script>` to the end and parses the JSON line it prints last.
 */
export async function runChild<T>(script: string, args: string[], node: string[] = []): Promise<T> {
  const { child, exited, stderr } = launch(script, args, { ...process.env }, node);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await exited;
  const last = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || last === '') throw new Error(`${script} exited ${code}: ${stderr()}`);
  return JSON.parse(last) as T;
}

/** CPU time (user + system) a process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux this runs on (sysconf is not reachable from Node). */
const CLOCK_TICKS = 100;

/** A field of /proc/<pid>/status in bytes (the kernel writes kB). */
export function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

async function waitFor(
  url: string,
  exited: Promise<number | null>,
  stderr: () => string,
  what: string,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what} exited while starting: ${stderr()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not get ready within 60 s: ${stderr()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
