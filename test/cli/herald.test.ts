import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { COMMANDS } from '../../src/cli/herald';
import { LOCAL_DEFAULTS, newWebhookSecret } from '../../src/config';
import { ecKeyPair } from '../auth/jwt-fixtures';
import {
  buildTestApp,
  TEST_ADMIN_TOKEN,
  TEST_JWT_SECRET,
  TEST_SOURCE,
  type TestApp,
  type TestAppOptions,
} from '../helpers/app';
import { herald, listen, run } from './cli-harness';

const CHAT_DATA = JSON.stringify({
  recipientUserId: 'alice',
  senderName: 'Bob',
  messagePreview: "It's noon",
  conversationId: 'c-42',
});

/** The gateway's environment as the CLI would share it, for a test app. */
function gatewayEnv(t: TestApp, url: string): Record<string, string> {
  return {
    WEBHOOK_SECRETS: `${TEST_SOURCE}=${t.webhookSecret}`,
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    HERALD_URL: url,
  };
}

describe('herald', () => {
  let closers: Array<() => Promise<void>>;

  async function gateway(options: TestAppOptions = {}) {
    const t = await buildTestApp('sqlite', options);
    const server = await listen(t.app);
    closers.push(
      () => t.close(),
      () => server.close(),
    );
    return { t, url: server.url, env: gatewayEnv(t, server.url) };
  }

  beforeEach(() => {
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  describe('help', () => {
    it('lists every command with --help and exits 0', async () => {
      const { code, stdout, stderr } = await herald(['--help']);

      expect(code).toBe(0);
      expect(stderr).toBe('');
      for (const name of ['migrate', 'sign', 'dev-token', 'status']) {
        expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      }
    });

    it.each(COMMANDS.map((command) => command.name))(
      'explains %s with --help, -h and herald help',
      async (name) => {
        const long = await herald([name, '--help']);
        const short = await herald([name, '-h']);
        const viaHelp = await herald(['help', name]);

        expect(long.code).toBe(0);
        expect(long.stdout).toMatch(new RegExp(`^Usage: herald ${name}`));
        expect(short.stdout).toBe(long.stdout);
        expect(viaHelp.stdout).toBe(long.stdout);
      },
    );
  });

  describe('bad arguments', () => {
    it.each([
      [[], 'herald: name a command'],
      [['frobnicate'], 'herald: unknown command "frobnicate"'],
      [['help', 'frobnicate'], 'herald help: unknown command "frobnicate"'],
      [['migrate', 'now'], 'herald migrate: unexpected argument "now"'],
      [['sign', '--data', '{}'], 'herald sign: --type is required'],
      [['sign', '--type', 'x'], 'herald sign: --data is required'],
      [['sign', '--type', 'x', '--data', '{oops'], 'herald sign: --data is not JSON'],
      [['sign', '--type', 'x', '--data', '[1]'], 'herald sign: --data must be a JSON object'],
      [['sign', '--type', 'x', '--data', '{}', '--quiet'], 'herald sign: --quiet only goes with'],
      [['sign', '--type', '--data', '{}'], 'herald sign: option --type needs a value'],
      [['sign', '--colour'], 'herald sign: unknown option --colour'],
      [['sign', '--send=yes'], 'herald sign: option --send takes no value'],
      [['sign', '--type', 'x', '--data', '{}', '--url', 'ftp://x'], 'herald sign: --url is not'],
      [['dev-token'], 'herald dev-token: --user is required'],
      [['dev-token', '--user', 'a', '--ttl', '1h'], 'herald dev-token: --ttl must be'],
      [['status'], 'herald status: name the notification'],
      [['status', 'a', 'b'], 'herald status: give one notification id'],
      [['status', 'a', '--timeout', '5'], 'herald status: --timeout only goes with --wait'],
    ])('herald %j exits 2 with one line saying why', async (args, reason) => {
      const { code, stdout, stderr } = await herald(args);

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.startsWith(reason)).toBe(true);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    });

    it('names the configuration variable that is wrong, in one line, with exit 1', async () => {
      const { code, stderr } = await herald(['dev-token', '--user', 'a'], { JWT_SECRET: 'short' });

      expect(code).toBe(1);
      expect(stderr).toBe(
        'herald dev-token: configuration error: JWT_SECRET: must be at least 32 bytes\n',
      );
    });
  });

  describe('sign', () => {
    it('prints a curl command that the gateway accepts', async () => {
      const { t, env } = await gateway();

      const signed = await herald(
        ['sign', '--source', TEST_SOURCE, '--type', 'chat.message.created', '--data', CHAT_DATA],
        env,
      );
      const curl = await run('bash', ['-c', signed.stdout], {
        env: { PATH: process.env.PATH ?? '' },
      });

      expect(signed.code).toBe(0);
      expect(signed.stdout).toMatch(/^curl .*\/v1\/webhooks\/shop/);
      expect(signed.stdout).toMatch(/-H 'webhook-signature: v1,[A-Za-z0-9+/=]+'/);
      expect(curl.code).toBe(0);
      const answer = JSON.parse(curl.stdout) as { notificationId: string; status: string };
      expect(answer.status).toBe('queued');
      const stored = await t.db('notifications').where({ id: answer.notificationId }).first();
      expect(stored).toMatchObject({ source: TEST_SOURCE, type: 'chat.message.created' });
    });

    it('signs for the only configured source when --source is left out', async () => {
      const secret = newWebhookSecret();
      const { stdout } = await herald(['sign', '--type', 't', '--data', '{}'], {
        WEBHOOK_SECRETS: `crm=${secret}`,
      });

      expect(stdout).toContain('http://127.0.0.1:3000/v1/webhooks/crm');
    });

    it("uses local mode's demo secret when nothing is configured", async () => {
      const { stdout } = await herald(['sign', '--type', 't', '--data', '{}', '--id', 'msg_1']);
      const timestamp = /webhook-timestamp: (\d+)/.exec(stdout)?.[1] ?? '';
      const body = JSON.stringify({ type: 't', data: {} });
      const { sign } = await import('../../src/auth/webhook-signature');
      const expected = sign(LOCAL_DEFAULTS.webhookSecret, 'msg_1', timestamp, body).toString(
        'base64',
      );

      expect(stdout).toContain('/v1/webhooks/demo');
      expect(stdout).toContain(`webhook-signature: v1,${expected}`);
    });

    it('posts with --send and prints the answer; the same --id again is a 200', async () => {
      const { env } = await gateway();
      const args = ['sign', '--type', 'chat.message.created', '--data', CHAT_DATA, '--id', 'msg_a'];

      const first = await herald([...args, '--send'], env);
      const again = await herald([...args, '--send'], env);

      expect(first).toMatchObject({ code: 0, stderr: 'HTTP 202\n' });
      expect(JSON.parse(first.stdout)).toMatchObject({ status: 'queued' });
      expect(again).toMatchObject({ code: 0, stderr: 'HTTP 200\n' });
      expect(JSON.parse(again.stdout).notificationId).toBe(JSON.parse(first.stdout).notificationId);
    });

    it('prints only the notification id with --send --quiet', async () => {
      const { t, env } = await gateway();

      const { code, stdout, stderr } = await herald(
        ['sign', '--type', 'chat.message.created', '--data', CHAT_DATA, '--send', '--quiet'],
        env,
      );

      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(await t.db('notifications').where({ id: stdout.trim() }).first()).toBeDefined();
    });

    it("exits 1 with the gateway's refusal when it refuses the event", async () => {
      const { env } = await gateway();
      const args = ['sign', '--type', 'no.such.type', '--data', '{}', '--send'];

      const loud = await herald(args, env);
      const quiet = await herald([...args, '--quiet'], env);

      expect(loud.code).toBe(1);
      expect(loud.stderr).toBe('HTTP 422\n');
      expect(JSON.parse(loud.stdout).error.code).toBe('unknown_event_type');
      expect(quiet.code).toBe(1);
      expect(quiet.stderr).toMatch(/^herald sign: HTTP 422 unknown_event_type: No plugin/);
    });

    it('exits 1 naming the source when WEBHOOK_SECRETS does not have it', async () => {
      const { code, stderr } = await herald([
        'sign',
        '--source',
        'crm',
        '--type',
        't',
        '--data',
        '{}',
      ]);

      expect(code).toBe(1);
      expect(stderr).toBe('herald sign: WEBHOOK_SECRETS has no source "crm" (it has: demo)\n');
    });

    it('exits 1 saying so when no gateway answers', async () => {
      const { url, close } = await listen((await gateway()).t.app);
      await close();

      const { code, stderr } = await herald(['sign', '--type', 't', '--data', '{}', '--send'], {
        HERALD_URL: url,
      });

      expect(code).toBe(1);
      expect(stderr).toMatch(/^herald sign: cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+/);
    });
  });

  describe('dev-token', () => {
    it("prints a JWT the gateway accepts for that user's devices", async () => {
      const { t } = await gateway();

      const { code, stdout } = await herald(['dev-token', '--user', 'alice'], {
        JWT_SECRET: TEST_JWT_SECRET,
      });
      const res = await request(t.app)
        .post('/v1/devices')
        .set('Authorization', `Bearer ${stdout.trim()}`)
        .send({ token: 'fcm-token-0001', platform: 'android' });

      expect(code).toBe(0);
      expect(res.status).toBe(201);
      expect(await t.db('devices').select('user_id')).toEqual([{ user_id: 'alice' }]);
    });

    it("signs with local mode's secret for --ttl seconds, with iss and aud if set", async () => {
      const local = await herald(['dev-token', '--user', 'bob', '--ttl', '60']);
      const scoped = await herald(['dev-token', '--user', 'bob'], {
        JWT_ISSUER: 'https://id.example',
        JWT_AUDIENCE: 'herald',
      });

      const claims = jwt.verify(local.stdout.trim(), LOCAL_DEFAULTS.jwtSecret) as jwt.JwtPayload;
      expect(claims.sub).toBe('bob');
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
      expect(jwt.decode(scoped.stdout.trim())).toMatchObject({
        iss: 'https://id.example',
        aud: 'herald',
      });
    });

    it('refuses production and gateways that check tokens with a public key', async () => {
      const production = await herald(['dev-token', '--user', 'a'], { NODE_ENV: 'production' });
      const publicKey = await herald(['dev-token', '--user', 'a'], {
        JWT_PUBLIC_KEY: ecKeyPair().publicPem,
      });

      expect(production.code).toBe(1);
      expect(production.stderr).toMatch(/^herald dev-token: .*refuses NODE_ENV=production\n$/);
      expect(publicKey.code).toBe(1);
      expect(publicKey.stderr).toMatch(/^herald dev-token: the gateway checks JWTs with/);
      expect(publicKey.stdout).toBe('');
    });
  });

  describe('status', () => {
    it('prints the notification from the admin API', async () => {
      const { env } = await gateway();
      const sent = await herald(
        ['sign', '--type', 'chat.message.created', '--data', CHAT_DATA, '--send', '-q'],
        env,
      );

      const { code, stdout } = await herald(['status', sent.stdout.trim()], env);

      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ id: sent.stdout.trim(), status: 'queued' });
    });

    it('waits with --wait until the notification is delivered', async () => {
      const { t, env } = await gateway({ workers: true });
      await request(t.app)
        .post('/v1/devices')
        .set(
          'Authorization',
          `Bearer ${(await herald(['dev-token', '--user', 'alice'], env)).stdout.trim()}`,
        )
        .send({ token: 'fcm-token-0001', platform: 'ios' });
      const sent = await herald(
        ['sign', '--type', 'chat.message.created', '--data', CHAT_DATA, '--send', '-q'],
        env,
      );

      const { code, stdout } = await herald(['status', sent.stdout.trim(), '--wait'], env);

      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        status: 'delivered',
        counts: { targeted: 1, sent: 1, failed: 0, pruned: 0 },
      });
    });

    it('exits 1 with the reason for an unknown id or a refused admin token', async () => {
      const { env } = await gateway();

      const unknown = await herald(['status', 'no-such-id'], env);
      const refused = await herald(['status', 'no-such-id'], {
        ...env,
        ADMIN_TOKEN: 'x'.repeat(20),
      });

      expect(unknown).toMatchObject({ code: 1, stdout: '' });
      expect(unknown.stderr).toBe(
        'herald status: HTTP 404 not_found: No notification has this id\n',
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^herald status: HTTP 401 unauthorized: /);
    });

    it('exits 1 when the admin API is disabled', async () => {
      const { env } = await gateway();

      // Both secrets are set; FCM still takes its local default, which brings no admin token.
      const configured = { ...env, ADMIN_TOKEN: undefined };
      const { code, stderr } = await herald(['status', 'x'], configured);

      expect(code).toBe(1);
      expect(stderr).toBe('herald status: ADMIN_TOKEN is not set, so the admin API is disabled\n');
    });
  });

  describe('migrate', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('applies pending migrations once, then says it is up to date', async () => {
      const env = { DATABASE_URL: `sqlite:${join(dir, 'herald.sqlite')}` };

      const first = await herald(['migrate'], env);
      const second = await herald(['migrate'], env);

      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^applied: \d{14}_/);
      expect(second).toEqual({ code: 0, stdout: 'already up to date\n', stderr: '' });
    });

    it('exits 1 naming DATABASE_URL when it is not a database URL', async () => {
      const { code, stderr } = await herald(['migrate'], { DATABASE_URL: 'postgres://db/herald' });

      expect(code).toBe(1);
      expect(stderr).toBe(
        'herald migrate: configuration error: DATABASE_URL: must start with mysql:// or sqlite:\n',
      );
    });
  });
});
