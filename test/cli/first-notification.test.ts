/**
 * Follows the README as a newcomer would: the gateway in local mode as `npm start` runs it, then
 * the README's own commands, as written, in a shell. Only the ports differ (a free one for the
 * gateway, whichever the emulator got), so that the test never clashes with anything.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build-once';
import { killAllChildren, startChildGateway, type ChildGateway } from '../helpers/child-gateway';
import { run, type CliRun } from './cli-harness';
import { readmeBlocks, type CodeBlock } from './readme-blocks';

const README_GATEWAY = 'http://127.0.0.1:3000';
const README_EMULATOR = '127.0.0.1:9099';
const STEP_MARK = '::readme-step::';

interface Notification {
  status: string;
  counts: { targeted: number; sent: number };
}

interface ReceivedMessage {
  token?: string;
  message: { notification?: { title?: string; body?: string }; data?: Record<string, string> };
}

describe('the README', () => {
  let dir: string;
  let gateway: ChildGateway;
  let emulatorHost: string;
  let shellEnv: Record<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'herald-readme-'));
    // As `npm start` in a fresh clone: no configuration at all, so local mode.
    gateway = await startChildGateway({
      name: 'local mode',
      env: { DATABASE_URL: `sqlite:${join(dir, 'herald.sqlite')}`, LOG_LEVEL: 'info' },
    });
    emulatorHost = localEmulatorHost(gateway.output());
    shellEnv = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      // The gateway's own variables, as a newcomer's shell has them: none but where it listens.
      PORT: String(gateway.port),
      // `npx herald` must run this project's bin, never fetch a package of that name.
      npm_config_yes: 'false',
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    };
  }, 240_000);

  afterAll(async () => {
    await gateway?.stop('SIGTERM');
    await killAllChildren();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has npx run the herald tool of this project (package.json bin)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>;
    };

    expect(manifest.bin?.herald).toBe('bin/herald.js');
  });

  it("'Your first notification' registers a device and sees the event delivered", async () => {
    const { file, blocks } = readmeBlocks('first-notification');
    const [start, ...steps] = blocks.filter((block) => block.language === 'sh');
    expect(start?.code).toBe('npm start');
    expect(steps).toHaveLength(4);

    const result = await runShell(steps, shellEnv, gateway, emulatorHost);
    const [registered, sent, status, received] = stepOutputs(result);

    explain(`${file}\n${transcript(steps, result)}`, () => {
      expect(result.code).toBe(0);
      expect(JSON.parse(registered)).toMatchObject({ platform: 'android' });
      const notificationId = sent.trim();
      expect(notificationId).toMatch(/^[\w-]{8,}$/);
      const notification = JSON.parse(status) as Notification & { id: string };
      expect(notification).toMatchObject({
        id: notificationId,
        status: 'delivered',
        counts: { targeted: 1, sent: 1 },
      });
      const { messages } = JSON.parse(received) as { messages: ReceivedMessage[] };
      expect(messages).toContainEqual(
        expect.objectContaining({
          token: 'my-first-device-token',
          message: expect.objectContaining({
            notification: { title: 'Bob', body: 'Lunch at noon?' },
            data: { type: 'chat', id: 'c-42' },
          }),
        }),
      );
    });
  }, 120_000);

  it("'Signing webhooks' signs in Node and with openssl as the gateway expects", async () => {
    const { file, blocks } = readmeBlocks('signing-webhooks');
    const node = blocks.filter((block) => block.language === 'js');
    const shell = blocks.filter((block) => block.language === 'sh');
    expect(node).toHaveLength(1);
    expect(shell).toHaveLength(1);

    const fromNode = await run(
      process.execPath,
      ['--input-type=module', '-e', withPorts(node[0].code, gateway, emulatorHost)],
      { env: shellEnv, cwd: ROOT },
    );
    const fromShell = await run('bash', ['-c', withPorts(shell[0].code, gateway, emulatorHost)], {
      env: shellEnv,
      cwd: ROOT,
    });

    explain(
      `${file}\nnode: ${JSON.stringify(fromNode)}\nshell: ${JSON.stringify(fromShell)}`,
      () => {
        expect(fromNode.code).toBe(0);
        expect(fromNode.stdout).toMatch(/^202 \{"notificationId":"[^"]+","status":"queued"\}/);
        expect(fromShell.code).toBe(0);
        expect(JSON.parse(fromShell.stdout)).toMatchObject({ status: 'queued' });
      },
    );
  }, 60_000);
});

/** Where local mode's emulator listens, from the gateway's own log line announcing it. */
function localEmulatorHost(output: string): string {
  for (const line of output.split('\n')) {
    if (!line.includes('FCM messages go to the bundled emulator')) continue;
    const url = (JSON.parse(line.slice(line.indexOf('{'))) as { url?: string }).url;
    if (url) return new URL(url).host;
  }
  throw new Error(`local mode did not announce its emulator\n${output}`);
}

function withPorts(code: string, gateway: ChildGateway, emulatorHost: string): string {
  return code.split(README_GATEWAY).join(gateway.url).split(README_EMULATOR).join(emulatorHost);
}

/** Runs the steps in one shell, as one terminal would, marking where each one's output starts. */
function runShell(
  steps: CodeBlock[],
  env: Record<string, string>,
  gateway: ChildGateway,
  emulatorHost: string,
): Promise<CliRun> {
  const script = [
    'set -eo pipefail',
    ...steps.map((step) => `echo '${STEP_MARK}'\n${withPorts(step.code, gateway, emulatorHost)}`),
  ].join('\n');
  return run('bash', ['-c', script], { env, cwd: ROOT, timeoutMs: 110_000 });
}

function stepOutputs(result: CliRun): string[] {
  return result.stdout.split(`${STEP_MARK}\n`).slice(1);
}

function transcript(steps: CodeBlock[], result: CliRun): string {
  const outputs = stepOutputs(result);
  const parts = steps.map((step, i) => `$ ${step.code}\n${outputs[i] ?? '(not run)'}`);
  return `${parts.join('\n')}\nexit ${result.code}\nstderr:\n${result.stderr}`;
}

/** Runs assertions; a failure carries what the shell printed, to show where the README broke. */
function explain(context: string, assertions: () => void): void {
  try {
    assertions();
  } catch (err) {
    if (err instanceof Error) err.message = `${err.message}\n\n${context}`;
    throw err;
  }
}
