import { randomUUID } from 'node:crypto';
import { DevicesRepository, tokenHash } from '../../src/db/devices-repository';
import { jobDispatches } from '../../src/db/event-intake';
import type { Job, JobAudience } from '../../src/db/job-queue';
import { readPages, type Page } from '../../src/delivery/audience-pages';
import type { MessageTemplate } from '../../src/plugins/contract';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/database';

const MESSAGE: MessageTemplate = { notification: { title: 'Hi', body: 'there' } };

function jobFor(audience: JobAudience, cursor: string | null = null): Job {
  return {
    id: '1',
    notificationId: 'n1',
    plugin: 'test',
    dispatch: { audience, message: MESSAGE },
    cursor,
    attempt: 1,
    requestId: null,
  };
}

async function allPages(job: Job, devices: DevicesRepository, pageSize: number) {
  const pages: Page[] = [];
  for await (const page of readPages(job, devices, pageSize)) pages.push(page);
  return pages;
}

function tokensOf(pages: Page[]): string[] {
  return pages.flatMap((page) => page.targets.map((t) => (t.kind === 'token' ? t.token : '?')));
}

describe.each(dialects())('readPages on %s', (dialect) => {
  let database: TestDatabase;
  let devices: DevicesRepository;

  async function register(userId: string, count: number): Promise<string[]> {
    const tokens = Array.from({ length: count }, (_, i) => `${userId}-token-${i}`);
    const now = new Date();
    await database.db('devices').insert(
      tokens.map((token) => ({
        id: randomUUID(),
        user_id: userId,
        token,
        token_hash: tokenHash(token),
        platform: 'ios',
        created_at: now,
        updated_at: now,
      })),
    );
    return tokens;
  }

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    devices = new DevicesRepository(database.db);
  });
  afterEach(async () => {
    await database.drop();
  });

  it('fills pages with several users’ devices, each once, within the page size', async () => {
    const ann = await register('ann', 3);
    const ben = await register('ben', 4);
    await register('cat', 2);

    const pages = await allPages(
      jobFor({ kind: 'users', userIds: ['ann', 'ben', 'ann'] }),
      devices,
      5,
    );

    expect(pages.map((page) => page.targets.length)).toEqual([5, 2]);
    expect(tokensOf(pages).sort()).toEqual([...ann, ...ben].sort());
  });

  it('resumes a users audience from the cursor after any page', async () => {
    await register('ann', 7);
    await register('ben', 6);
    const job = jobFor({ kind: 'users', userIds: ['ann', 'ben'] });
    const whole = tokensOf(await allPages(job, devices, 4));

    const first = await allPages(job, devices, 4);
    for (const [i, page] of first.entries()) {
      const rest = await allPages({ ...job, cursor: page.cursorAfter }, devices, 4);
      expect(tokensOf(rest)).toEqual(whole.slice((i + 1) * 4));
    }
    expect(whole).toHaveLength(13);
  });

  it('reaches each device once when users and some of their tokens are both named', async () => {
    const ann = await register('ann', 3);
    const ben = await register('ben', 2);
    const loose = 'unregistered-token';
    const audience: JobAudience = {
      kind: 'users-and-tokens',
      userIds: ['ann', 'ben'],
      tokens: [ann[1], loose, ben[0], ann[1]],
    };

    const pages = await allPages(jobFor(audience), devices, 2);
    const resumed = await allPages(jobFor(audience, pages[1].cursorAfter), devices, 2);

    expect(tokensOf(pages).sort()).toEqual([...ann, ...ben, loose].sort());
    expect(tokensOf(pages)).toHaveLength(6);
    expect(tokensOf(resumed)).toEqual(tokensOf(pages.slice(2)));
  });

  it('sends a topic or a condition once, and nothing more after its cursor', async () => {
    const topic = jobFor({ kind: 'topic', topic: 'news' });
    const condition = jobFor({ kind: 'condition', condition: "'a' in topics" });

    const [topicPage] = await allPages(topic, devices, 500);
    const [conditionPage] = await allPages(condition, devices, 500);

    expect(topicPage.targets).toEqual([{ kind: 'topic', topic: 'news' }]);
    expect(conditionPage.targets).toEqual([{ kind: 'condition', condition: "'a' in topics" }]);
    expect(await allPages({ ...topic, cursor: topicPage.cursorAfter }, devices, 500)).toEqual([]);
  });
});

describe('jobDispatches', () => {
  const other: MessageTemplate = { notification: { title: 'Other', body: 'message' } };

  it('merges the users and tokens of dispatches with the same message into one audience', () => {
    const jobs = jobDispatches([
      { audience: { kind: 'users', userIds: ['ann'] }, message: MESSAGE },
      { audience: { kind: 'topic', topic: 'news' }, message: MESSAGE },
      { audience: { kind: 'tokens', tokens: ['t1', 't2'] }, message: { ...MESSAGE } },
      { audience: { kind: 'users', userIds: ['ben', 'ann'] }, message: MESSAGE },
      { audience: { kind: 'tokens', tokens: ['t3'] }, message: other },
    ]);

    expect(jobs).toEqual([
      {
        audience: { kind: 'users-and-tokens', userIds: ['ann', 'ben'], tokens: ['t1', 't2'] },
        message: MESSAGE,
      },
      { audience: { kind: 'topic', topic: 'news' }, message: MESSAGE },
      { audience: { kind: 'tokens', tokens: ['t3'] }, message: other },
    ]);
  });

  it('keeps a lone users or tokens dispatch as it is', () => {
    expect(
      jobDispatches([{ audience: { kind: 'users', userIds: ['ann'] }, message: MESSAGE }]),
    ).toEqual([{ audience: { kind: 'users', userIds: ['ann'] }, message: MESSAGE }]);
    expect(jobDispatches([])).toEqual([]);
  });
});
