import { newWebhookSecret } from '../../src/config';
import { scrubSecrets, serializeError, tokenPrefix } from '../../src/logger';
import { claims, signHs256 } from '../auth/jwt-fixtures';
import { createTestDatabase, dialects } from '../helpers/database';
import { captureLogs } from './log-capture';

const DEVICE_TOKEN = 'dXk3bY0:APA91bH' + 'Qz9_-'.repeat(30);
const JWT = signHs256(claims('alice'));
const WEBHOOK_SECRET = newWebhookSecret();
const ADMIN_TOKEN = 'admin-token-abcdefghijklmnopqrstuvwxyz';

/** What mysql2 throws through knex: the statement with its values in `message` and `sql`. */
function mysqlError(): Error {
  const sql =
    'insert into `devices` (`id`, `platform`, `token`, `user_id`) values ' +
    `('d1', 'android', '${DEVICE_TOKEN}', 'alice')`;
  return Object.assign(new Error(`${sql} - Data too long for column 'token' at row 1`), {
    code: 'ER_DATA_TOO_LONG',
    errno: 1406,
    sqlState: '22001',
    sqlMessage: "Data too long for column 'token' at row 1",
    sql,
  });
}

describe('the logger', () => {
  describe('err serializer', () => {
    it('drops the statement and its values from a MySQL error, keeping the driver message', () => {
      const { logger, lines, text } = captureLogs();

      logger.error({ err: mysqlError() }, 'query failed');

      expect(text()).not.toContain(DEVICE_TOKEN);
      expect(text()).not.toContain(DEVICE_TOKEN.slice(0, 20));
      const err = lines()[0].err;
      expect(err).toMatchObject({
        type: 'Error',
        message: "Data too long for column 'token' at row 1",
        query: 'insert devices',
        code: 'ER_DATA_TOO_LONG',
        errno: 1406,
        sqlState: '22001',
      });
      expect(err).not.toHaveProperty('sql');
      expect(err).not.toHaveProperty('sqlMessage');
      expect(String(err?.stack)).toMatch(/^Error: Data too long for column 'token'/);
    });

    it('shortens long quoted values a database echoes in its own message', () => {
      const err = Object.assign(new Error('insert into `devices` … - Duplicate entry'), {
        sql: 'insert into `devices` …',
        sqlMessage: `Duplicate entry '${DEVICE_TOKEN}' for key 'devices_token'`,
      });

      const out = serializeError(err) as { message: string };

      expect(out.message).toBe(
        `Duplicate entry '${DEVICE_TOKEN.slice(0, 8)}…' for key 'devices_token'`,
      );
    });

    it('cleans errors in a cause chain and in aggregate errors', () => {
      const wrapped = new Error('device registration failed', { cause: mysqlError() });
      const aggregate = new AggregateError([mysqlError()], 'several sends failed');
      const { logger, lines, text } = captureLogs();

      logger.error({ err: wrapped }, 'one');
      logger.error({ err: aggregate }, 'two');

      expect(text()).not.toContain(DEVICE_TOKEN.slice(0, 20));
      const [one, two] = lines();
      expect(one.err?.cause).toMatchObject({
        message: "Data too long for column 'token' at row 1",
      });
      expect(two.err?.errors).toEqual([
        expect.objectContaining({ message: "Data too long for column 'token' at row 1" }),
      ]);
    });

    it('leaves other errors as pino would write them, own fields included', () => {
      const err = Object.assign(new RangeError('page size out of range'), { code: 'E_PAGE' });

      expect(serializeError(err)).toMatchObject({
        type: 'RangeError',
        message: 'page size out of range',
        code: 'E_PAGE',
        stack: expect.stringContaining('RangeError: page size out of range'),
      });
      expect(serializeError('just text')).toBe('just text');
    });

    it('is used by child loggers too', () => {
      const { logger, text } = captureLogs();

      logger.child({ component: 'dispatcher' }).error({ err: mysqlError() }, 'job failed');

      expect(text()).not.toContain(DEVICE_TOKEN.slice(0, 20));
      expect(text()).toContain('Data too long');
    });
  });

  describe.each(dialects())('err serializer with real knex errors on %s', (dialect) => {
    it('keeps a device token out of the line when a statement carrying it fails', async () => {
      const database = await createTestDatabase(dialect);
      const { logger, lines, text } = captureLogs();
      try {
        const failure = await database
          .db('devices')
          .insert({ id: 'd1', user_id: 'alice', token: DEVICE_TOKEN, no_such_column: 1 })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(String((failure as Error).message)).toContain(DEVICE_TOKEN);

        logger.error({ err: failure }, 'device registration failed');
      } finally {
        await database.drop();
      }

      expect(text()).not.toContain(DEVICE_TOKEN.slice(0, 20));
      const err = lines()[0].err;
      expect(err?.query).toBe('insert devices');
      expect(String(err?.message)).toMatch(/no_such_column/);
      expect(err).not.toHaveProperty('sql');
    });
  });

  describe('redaction', () => {
    it('blanks credentials in headers, configuration and nested objects', () => {
      const { logger, text } = captureLogs();

      logger.info(
        {
          headers: {
            authorization: `Bearer ${JWT}`,
            'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
            cookie: 'session=abcdefghijklmnopqrstuvwxyz',
            'x-api-key': 'key-0123456789abcdef',
          },
          req: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
          config: {
            jwtSecret: 'x'.repeat(40),
            adminToken: ADMIN_TOKEN,
            metricsToken: 'm'.repeat(20),
          },
          secrets: { shop: [WEBHOOK_SECRET] },
          device: { token: DEVICE_TOKEN, platform: 'ios' },
          dispatch: { audience: { kind: 'tokens', tokens: [DEVICE_TOKEN] } },
          token: DEVICE_TOKEN,
          password: 'hunter2-hunter2',
        },
        'everything at once',
      );

      for (const secret of [
        JWT,
        ADMIN_TOKEN,
        WEBHOOK_SECRET,
        DEVICE_TOKEN,
        'K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN',
        'abcdefghijklmnopqrstuvwxyz',
        'key-0123456789abcdef',
        'x'.repeat(40),
        'm'.repeat(20),
        'hunter2',
      ]) {
        expect(text()).not.toContain(secret);
      }
      expect(text()).toContain('"platform":"ios"');
      expect(text()).toContain('[redacted]');
    });

    it('finds secret keys at any depth and in any case', () => {
      const { logger, text } = captureLogs();

      logger.info({ a: { b: { c: { d: [{ Token: DEVICE_TOKEN.slice(0, 40) }] } } } }, 'deep');
      logger.info({ Authorization: 'Basic dXNlcjpwYXNzd29yZA==' }, 'header case');

      expect(text()).not.toContain(DEVICE_TOKEN.slice(0, 40));
      expect(text()).not.toContain('dXNlcjpwYXNzd29yZA');
      expect(text().match(/\[redacted\]/g)).toHaveLength(2);
    });

    it('shortens JWTs, webhook secrets, bearer credentials and device tokens in free text', () => {
      const { logger, text } = captureLogs();

      logger.warn({ detail: `refused Bearer ${ADMIN_TOKEN}` }, `bad JWT ${JWT}`);
      logger.warn({}, `secret ${WEBHOOK_SECRET} rotated; token ${DEVICE_TOKEN} dead`);
      logger.error({ err: new Error(`could not verify ${JWT} for ${DEVICE_TOKEN}`) }, 'oops');

      for (const secret of [JWT, ADMIN_TOKEN, WEBHOOK_SECRET, DEVICE_TOKEN]) {
        expect(text()).not.toContain(secret);
      }
      expect(text()).toContain(`bad JWT ${JWT.slice(0, 8)}…`);
      expect(text()).toContain(`token ${DEVICE_TOKEN.slice(0, 8)}…`);
    });

    it('leaves ordinary text and the caller own objects alone', () => {
      const { logger, lines } = captureLogs();
      const context = { note: `Bearer ${ADMIN_TOKEN}`, userId: 'alice' };

      logger.info(context, 'device registered');

      expect(context.note).toBe(`Bearer ${ADMIN_TOKEN}`);
      expect(lines()[0]).toMatchObject({ msg: 'device registered', userId: 'alice' });
      expect(scrubSecrets('Send the client JWT as "Authorization: Bearer <JWT>"')).toBe(
        'Send the client JWT as "Authorization: Bearer <JWT>"',
      );
      expect(scrubSecrets('notification 0f8e4c7a-1b2c-4d5e-8f90-123456789abc settled')).toBe(
        'notification 0f8e4c7a-1b2c-4d5e-8f90-123456789abc settled',
      );
    });
  });

  describe('tokenPrefix', () => {
    it('keeps a few leading characters of a token only', () => {
      expect(tokenPrefix(DEVICE_TOKEN)).toBe(`${DEVICE_TOKEN.slice(0, 8)}…`);
      expect(tokenPrefix('short-token')).toBe('shor…');
    });
  });
});
