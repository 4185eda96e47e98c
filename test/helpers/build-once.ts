import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** The repository root, where package.json and tsconfig.build.json live. */
export const ROOT = join(__dirname, '..', '..');
/** What a child gateway runs: the compiled process entry. */
export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');

const SOURCES = [
  'src',
  'plugins',
  'migrations',
  'knexfile.ts',
  'tsconfig.json',
  'tsconfig.build.json',
];
/** Written after each successful build: tsc leaves unchanged outputs alone, so their times lie. */
const STAMP = join(ROOT, 'dist', '.reliability-build-stamp');
const BUILD_INFO = join(ROOT, 'dist', '.tsbuildinfo-build');
const LOCK = join(ROOT, 'dist', '.reliability-build-lock');
const BUILD_TIMEOUT_MS = 180_000;
const STALE_LOCK_MS = BUILD_TIMEOUT_MS + 30_000;

function newestSourceTime(path: string): number {
  const full = join(ROOT, path);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(full)) {
    newest = Math.max(newest, newestSourceTime(join(path, entry)));
  }
  return newest;
}

function isFresh(): boolean {
  if (!existsSync(MAIN_JS) || !existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.every((path) => newestSourceTime(path) <= built);
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    // A lock left by a killed test run would block every later one.
    if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) {
      rmSync(LOCK, { recursive: true, force: true });
    }
    return false;
  }
}

function build(): void {
  // An incremental build whose outputs were deleted would emit nothing: start it afresh.
  if (!existsSync(MAIN_JS)) rmSync(BUILD_INFO, { force: true });
  const startedAt = new Date();
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (result.status !== 0 || !existsSync(MAIN_JS)) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.slice(-4000);
    throw new Error(`npm run build failed (exit ${String(result.status)}):\n${output}`);
  }
  // Dated from the start, so a source saved while tsc ran still counts as newer than the build.
  writeFileSync(STAMP, startedAt.toISOString());
  utimesSync(STAMP, startedAt, startedAt);
}

/**
 * Makes sure dist/ holds a build of the current sources, building it when it is missing or older
 * than any source. Tests that spawn the gateway as a real process call this first; several test
 * files may do so at once, so one builds under a lock and the others wait for it.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + STALE_LOCK_MS + 10_000;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  while (!isFresh()) {
    if (tryLock()) {
      try {
        if (!isFresh()) build();
      } finally {
        rmSync(LOCK, { recursive: true, force: true });
      }
      return;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for the build lock ${LOCK}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
