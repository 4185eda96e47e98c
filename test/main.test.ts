/**
 * The process as `npm start` runs it: in a shell that sets nothing, and in production with
 * nothing configured. Both start the compiled entry from a fresh working directory, so local
 * mode's `./data/` lands there and never in the repository.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, MAIN_JS } from './helpers/build-once';
import { killAllChildren, startChildGateway, type ChildGateway } from './helpers/child-gateway';

describe('the gateway process', () => {
  let dir: string;

  beforeAll(async () => {
    await ensureBuilt();
  }, 240_000);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-main-'));
  });

  afterEach(async () => {
    await killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('with no environment at all', () => {
    let gateway: ChildGateway;

    beforeEach(async () => {
      gateway = await startChildGateway({ name: 'bare', env: {}, bareEnv: true, cwd: dir });
    }, 60_000);

    it('says LOCAL MODE in its first log lines', () => {
      const firstLines = gateway.firstLines('stdout').slice(0, 3).join('\n');
      const banner = gateway.firstLines('stderr').join('\n');

      expect(firstLines).toMatch(/LOCAL MODE: development defaults in use/);
      expect(banner).toMatch(/Herald is running in LOCAL MODE/);
      expect(banner).toMatch(/WEBHOOK_SECRETS=demo=whsec_/);
    });

    it('serves /readyz 200 from an embedded database under ./data/', async () => {
      const res = await fetch(`${gateway.url}/readyz`);

      expect(res.status).toBe(200);
      expect(existsSync(join(dir, 'data', 'herald.sqlite'))).toBe(true);
    });

    it('exits 0 on SIGTERM', async () => {
      await expect(gateway.stop('SIGTERM')).resolves.toEqual({ code: 0, signal: null });
    });
  });

  it('refuses NODE_ENV=production with no credentials, naming what is missing', async () => {
    const exit = await runToExit({ NODE_ENV: 'production' }, dir);

    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/^herald: configuration error: [A-Z_]+: is required when NODE_ENV/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('names each missing variable in turn as production is configured', async () => {
    const env: Record<string, string> = { NODE_ENV: 'production' };
    const named: string[] = [];
    const fixes: Record<string, string> = {
      GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'no-such-service-account.json'),
      WEBHOOK_SECRETS: 'crm=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      JWT_SECRET: 'a-production-secret-of-at-least-32-bytes!',
    };

    for (let i = 0; i < Object.keys(fixes).length; i += 1) {
      const { stderr } = await runToExit(env, dir);
      const variable = /configuration error: ([A-Z_]+):/.exec(stderr)?.[1];
      if (variable === undefined || !(variable in fixes)) {
        throw new Error(`unexpected refusal: ${stderr}`);
      }
      named.push(variable);
      env[variable] = fixes[variable];
    }

    expect([...named].sort()).toEqual(Object.keys(fixes).sort());
  }, 30_000);
});

/** Runs the entry to its exit with exactly `env` (and PATH), for a process that must refuse. */
function runToExit(
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
