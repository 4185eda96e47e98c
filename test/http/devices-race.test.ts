/**
 * One gateway batches the registrations that reach it together into one upsert, so a race for
 * a token inside one process never reaches the database as a race. Two gateways on one
 * database do race there, each on its own connection, as two instances behind a load balancer.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app';
import { connectAgain, dialects } from '../helpers/database';
import { claims, signHs256 } from '../auth/jwt-fixtures';

const ROUNDS = 20;

function register(t: TestApp, sub: string, token: string) {
  return request(t.app)
    .post('/v1/devices')
    .set('Authorization', `Bearer ${signHs256(claims(sub), TEST_JWT_SECRET)}`)
    .send({ token, platform: 'android' });
}

describe.each(dialects())('two gateways on one %s database', (dialect) => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await buildTestApp(dialect);
    second = await buildTestApp(dialect, { database: connectAgain(first.database) });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('leave exactly one device row when two users register the same token at once', async () => {
    const prefix = randomBytes(4).toString('hex');
    const outcomes: RoundOutcome[] = [];

    for (let round = 0; round < ROUNDS; round += 1) {
      const token = `fcm-race-${prefix}-${round}:APA91b${'r'.repeat(120)}`;
      const responses = await Promise.all([
        register(first, 'alice', token),
        register(second, 'bob', token),
      ]);
      const rows = await first.db('devices').where({ token }).select('id', 'user_id');

      outcomes.push({
        round,
        statuses: responses.map((res) => res.status).sort(),
        errors: responses.filter((res) => res.status >= 300).map((res) => res.body),
        rows: rows.length,
        sameDevice: responses.every((res) => res.body.id === rows[0]?.id),
        userIsOneOfThem: ['alice', 'bob'].includes(rows[0]?.user_id),
      });
    }

    const expected = outcomes.map(({ round }) => ({
      round,
      statuses: [200, 201],
      errors: [],
      rows: 1,
      sameDevice: true,
      userIsOneOfThem: true,
    }));
    expect(outcomes).toEqual(expected);
  }, 60_000);
});

interface RoundOutcome {
  round: number;
  /** One 201 (the row was created) and one 200 (it was already there, and moved). */
  statuses: number[];
  errors: unknown[];
  rows: number;
  /** Both responses name the one stored device. */
  sameDevice: boolean;
  userIsOneOfThem: boolean;
}
