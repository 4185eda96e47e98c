import request from 'supertest';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app';
import { dialects } from '../helpers/database';
import { chatEvent, postWebhook } from '../helpers/webhooks';
import { claims, signHs256 } from '../auth/jwt-fixtures';

function bearer(sub: string): string {
  return `Bearer ${signHs256(claims(sub), TEST_JWT_SECRET)}`;
}

describe.each(dialects())('identifiers on %s', (dialect) => {
  let t: TestApp;

  beforeEach(async () => {
    t = await buildTestApp(dialect);
  });

  afterEach(async () => {
    await t.close();
  });

  it('keeps users whose ids differ only in case or trailing spaces apart', async () => {
    const users = ['alice', 'Alice', 'alice ', 'Ålice'];
    for (const [i, user] of users.entries()) {
      const res = await request(t.app)
        .post('/v1/devices')
        .set('Authorization', bearer(user))
        .send({ token: `token-${i}`, platform: 'android' });
      expect(res.status).toBe(201);
    }

    for (const user of users) {
      const res = await request(t.app).get('/v1/devices').set('Authorization', bearer(user));
      expect(res.status).toBe(200);
      expect(res.body.devices).toHaveLength(1);
    }
    const rows = await t.db('devices').select('user_id').orderBy('token');
    expect(rows.map((row: { user_id: string }) => row.user_id)).toEqual(users);
  });

  it('takes webhook ids that differ only in case as two events', async () => {
    const first = await postWebhook(t, chatEvent('bob'), { id: 'msg_Order-1' });
    const second = await postWebhook(t, chatEvent('bob', { messagePreview: 'other' }), {
      id: 'msg_order-1',
    });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.notificationId).not.toBe(first.body.notificationId);
  });
});
