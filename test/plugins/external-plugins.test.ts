/**
 * Plugins from outside the repository, shipped the way a third party ships them: a CommonJS file
 * in the directory Herald runs in, and a package in that directory's node_modules. Both bring
 * their own copy of zod, and the compiled gateway runs as its own process, so nothing in src/
 * knows they exist. The plugin kit entry of package.json is checked the same way: from a
 * directory where Herald is installed as a package, not from inside the repository.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { signatureHeaders } from '../../src/auth/webhook-signature';
import { newWebhookSecret } from '../../src/config';
import { startEmulator, type FcmEmulator } from '../../src/emulator';
import { ensureBuilt, MAIN_JS, ROOT } from '../helpers/build-once';
import { freePort, killAllChildren, startChildGateway } from '../helpers/child-gateway';
import { waitFor } from '../helpers/wait';

const SOURCE = 'shop';

/** A plain CommonJS file exporting a factory; its audience is a topic. */
const FILE_PLUGIN = `'use strict';
const { z } = require('zod');

module.exports = ({ logger }) => {
  logger.info({}, 'parcel plugin ready');
  return {
    name: 'parcel',
    eventTypes: ['parcel.shipped'],
    schemas: {
      'parcel.shipped': z.strictObject({ region: z.string(), parcelId: z.string() }),
    },
    plan: (event) => [
      {
        audience: { kind: 'topic', topic: 'parcels-' + event.data.region },
        message: {
          notification: { title: 'Parcel shipped', body: 'Parcel ' + event.data.parcelId },
          data: { parcelId: event.data.parcelId },
        },
      },
    ],
  };
};
`;

/** A package exporting the plugin object as its default export; its audience is tokens. */
const PACKAGE_PLUGIN = `'use strict';
const { z } = require('zod');

exports.default = {
  name: 'invoice',
  eventTypes: ['invoice.paid'],
  schemas: { 'invoice.paid': z.strictObject({ token: z.string(), amount: z.string() }) },
  plan: (event) => [
    {
      audience: { kind: 'tokens', tokens: [event.data.token] },
      message: { notification: { title: 'Payment received', body: event.data.amount } },
    },
  ],
};
`;

/** A valid plugin that claims the event type of the built-in topic plugin. */
const COPYCAT_PLUGIN = `'use strict';
const { z } = require('zod');

module.exports = {
  name: 'copycat',
  eventTypes: ['topic.broadcast'],
  schemas: { 'topic.broadcast': z.object({}) },
  plan: () => [],
};
`;

/** The README's example of a plugin package written in TypeScript against herald/plugin-kit. */
const README_TYPED_PLUGIN = `import { z } from 'zod';
import type { NotificationPlugin } from 'herald/plugin-kit';

const paid = z.strictObject({ userId: z.string(), amount: z.string() });

const plugin: NotificationPlugin = {
  name: 'invoice',
  eventTypes: ['invoice.paid'],
  schemas: { 'invoice.paid': paid },
  plan(event) {
    // Herald calls plan only with data that passed the schema of event.type.
    const data = event.data as z.output<typeof paid>;
    return [
      {
        audience: { kind: 'users', userIds: [data.userId] },
        message: { notification: { title: 'Payment received', body: data.amount } },
      },
    ];
  },
};

export default plugin;
`;

/**
 * A directory outside the repository holding the plugins, a package in its node_modules and,
 * next to it, a copy of zod that the plugins' own `require('zod')` finds: a copy and not a link,
 * so their schemas come from another zod instance than Herald's, as after `npm install`.
 */
function writePluginProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-external-plugins-'));
  if (!relative(ROOT, dir).startsWith('..')) throw new Error(`${dir} is inside the repository`);

  writeFileSync(join(dir, 'my-plugin.js'), FILE_PLUGIN);
  writeFileSync(join(dir, 'copycat.js'), COPYCAT_PLUGIN);

  const pkg = join(dir, 'node_modules', 'herald-plugin-invoice');
  mkdirSync(pkg, { recursive: true });
  const manifest = {
    name: 'herald-plugin-invoice',
    version: '1.0.0',
    main: 'index.js',
    dependencies: { zod: '^4' },
  };
  writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(pkg, 'index.js'), PACKAGE_PLUGIN);

  cpSync(join(ROOT, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), { recursive: true });
  return dir;
}

interface Exit {
  code: number | null;
  /** stdout's JSON log lines, parsed. */
  logLines: Array<Record<string, unknown>>;
}

/** Runs the compiled gateway until it exits, for a start that must be refused. */
async function runToExit(cwd: string, env: Record<string, string>): Promise<Exit> {
  const port = String(await freePort());
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', ...env, PORT: port },
    // The refusal is a log line, and log lines go to stdout.
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));

  // A gateway that starts in spite of its plugins would run on: the test fails on its exit code.
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);

  const logLines = stdout.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { code, logLines };
}

describe('plugins from outside the repository', () => {
  let dir: string;
  let emulator: FcmEmulator;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    await ensureBuilt();
    emulator = await startEmulator({ port: 0 });
    dir = writePluginProject();
  }, 240_000);

  afterEach(async () => {
    await killAllChildren();
    emulator.reset();
  });

  afterAll(async () => {
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The gateway's environment, over a database of the test's own. */
  function gatewayEnv(database: string, plugins: string): Record<string, string> {
    return {
      DATABASE_URL: `sqlite:${join(dir, `${database}.sqlite`)}`,
      FCM_EMULATOR_HOST: emulator.host,
      FIREBASE_PROJECT_ID: 'demo-herald',
      WEBHOOK_SECRETS: `${SOURCE}=${secret}`,
      JWT_SECRET: 'external-plugins-jwt-secret-of-32-bytes-or-more',
      LOG_LEVEL: 'warn',
      PLUGINS: plugins,
    };
  }

  async function postEvent(url: string, event: object): Promise<number> {
    const body = JSON.stringify(event);
    const headers = signatureHeaders(secret, `msg_${randomUUID()}`, body);
    const res = await fetch(`${url}/v1/webhooks/${SOURCE}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    });
    return res.status;
  }

  it('loads a file by path and a package by name, and delivers what each plans', async () => {
    const gateway = await startChildGateway({
      name: 'external-plugins',
      cwd: dir,
      env: gatewayEnv('delivery', './my-plugin.js,herald-plugin-invoice'),
    });

    const statuses = [
      await postEvent(gateway.url, {
        type: 'parcel.shipped',
        data: { region: 'eu', parcelId: 'P-17' },
      }),
      await postEvent(gateway.url, {
        type: 'invoice.paid',
        data: { token: 'device-token-of-the-payer', amount: '12.50 EUR' },
      }),
    ];
    expect(statuses).toEqual([202, 202]);

    const received = await waitFor(
      () => emulator.received,
      (messages) => messages.length >= 2,
      { timeoutMs: 15_000, what: `both messages at the emulator\n${gateway.output()}` },
    );
    expect(received).toHaveLength(2);
    expect(received.find((m) => m.topic === 'parcels-eu')?.message).toMatchObject({
      notification: { title: 'Parcel shipped', body: 'Parcel P-17' },
      data: { parcelId: 'P-17' },
    });
    expect(received.find((m) => m.token === 'device-token-of-the-payer')?.message).toMatchObject({
      notification: { title: 'Payment received', body: '12.50 EUR' },
    });
  }, 60_000);

  it.each(['./no-such-plugin.js', 'herald-plugin-not-installed'])(
    'refuses to start when PLUGINS names %s, which no module answers to',
    async (specifier) => {
      const exit = await runToExit(dir, gatewayEnv('not-found', `topic,${specifier}`));

      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(exit.logLines).toContainEqual(
        expect.objectContaining({
          plugin: specifier,
          code: 'plugin_not_found',
          msg: expect.stringContaining(`plugin "${specifier}" was not found`),
        }),
      );
    },
    30_000,
  );

  it('refuses to start when a plugin claims an event type another plugin handles', async () => {
    const exit = await runToExit(dir, gatewayEnv('conflict', 'topic,./copycat.js'));

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.logLines).toContainEqual(
      expect.objectContaining({
        plugin: 'copycat',
        code: 'plugin_conflict',
        msg: expect.stringContaining('"topic.broadcast", which plugin "topic" already handles'),
      }),
    );
  }, 30_000);
});

describe('the plugin kit entry of package.json', () => {
  let dir: string;

  beforeAll(async () => {
    await ensureBuilt();
    // Herald installed as a package, the way `npm install <path to Herald>` leaves it.
    dir = mkdtempSync(join(tmpdir(), 'herald-plugin-kit-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'herald'), 'dir');
    // The plugin's own zod, as its package.json would install it.
    symlinkSync(join(ROOT, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), 'dir');
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `script` in a fresh Node from the package's user's directory; its stdout, parsed. */
  function nodeIn(script: string): Record<string, unknown> {
    const result = spawnSync(process.execPath, ['-e', script], {
      cwd: dir,
      encoding: 'utf8',
      // A kit that started a server or a timer would keep the process alive past this.
      timeout: 10_000,
    });
    if (result.status !== 0) {
      throw new Error(`node exited ${String(result.status)}: ${result.stderr}${result.stdout}`);
    }
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  it('resolves herald/plugin-kit to the built kit, with its declarations beside it', () => {
    const resolved = nodeIn(
      `console.log(JSON.stringify({ file: require.resolve('herald/plugin-kit') }))`,
    );

    expect(resolved.file).toBe(join(ROOT, 'dist', 'src', 'plugins', 'kit.js'));
    expect(existsSync(join(ROOT, 'dist', 'src', 'plugins', 'kit.d.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'dist', 'src', 'plugins', 'contract.d.ts'))).toBe(true);
  });

  it('loads the kit without starting the gateway, and keeps the gateway out of reach', () => {
    const loaded = nodeIn(`
      const kit = require('herald/plugin-kit');
      const blocked = (specifier) => {
        try { require(specifier); return 'loaded'; } catch (err) { return err.code; }
      };
      console.log(JSON.stringify({
        definePlugin: typeof kit.definePlugin,
        resources: process.getActiveResourcesInfo(),
        main: blocked('herald'),
        deep: blocked('herald/dist/src/main.js'),
      }));
    `);

    expect(loaded).toEqual({
      definePlugin: 'function',
      // Nothing listening, connecting or waiting: only Node's own standard streams, if any.
      resources: expect.not.arrayContaining(['TCPServerWrap', 'TCPSocketWrap', 'Timeout']),
      main: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  it.each([
    ['node16', ts.ModuleKind.Node16, ts.ModuleResolutionKind.Node16],
    ['node10', ts.ModuleKind.CommonJS, ts.ModuleResolutionKind.Node10],
  ])(
    'type-checks a plugin written against it with moduleResolution %s',
    (resolution, module, moduleResolution) => {
      const file = join(dir, `plugin-${resolution}.ts`);
      writeFileSync(
        file,
        `${README_TYPED_PLUGIN}
// @ts-expect-error: the contract knows no audience of that kind
export const wrong: Dispatch = { audience: { kind: 'everyone' }, message: {} };
import type { Dispatch } from 'herald/plugin-kit';
`,
      );

      const program = ts.createProgram([file], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module,
        moduleResolution,
        // As most projects run: zod's and firebase-admin's own declarations are not ours to check.
        skipLibCheck: true,
        types: [],
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));

      expect(problems).toEqual([]);
    },
    60_000,
  );
});
