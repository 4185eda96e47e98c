import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build-once';
import { run } from './cli-harness';

const BIN = join(ROOT, 'bin', 'herald.js');
const ENV = { PATH: process.env.PATH ?? '' };

describe('bin/herald.js', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 240_000);

  it('runs the compiled CLI with the exit code of the command', async () => {
    const help = await run(process.execPath, [BIN, '--help'], { env: ENV });
    const wrong = await run(process.execPath, [BIN, 'sign', '--nope'], { env: ENV });

    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: herald <command>/);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('herald sign: unknown option --nope (see herald sign --help)\n');
  });

  it('says to build first when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(BIN, join(dir, 'bin', 'herald.js'));

      const result = await run(process.execPath, [join(dir, 'bin', 'herald.js'), '--help'], {
        env: ENV,
      });

      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'herald: the CLI is not built yet; run `npm run build` first\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
