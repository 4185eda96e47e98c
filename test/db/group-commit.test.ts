import { DatabaseTimeoutError } from '../../src/db/deadline';
import { isDatabaseUnavailable } from '../../src/db/errors';
import { GroupCommit, type Pending } from '../../src/db/group-commit';

type Batch = Array<Pending<string, string>>;

describe('group commit', () => {
  it('commits the writes that arrive during a commit together, in the next one', async () => {
    const batches: string[][] = [];
    const commits = new GroupCommit<string, string>(async (batch: Batch) => {
      batches.push(batch.map((item) => item.value));
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const item of batch) item.resolve(item.value.toUpperCase());
    });

    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((v) => commits.submit(v)));

    expect(answers).toEqual(['A', 'B', 'C', 'D']);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('gives every item of a failed commit its error', async () => {
    const commits = new GroupCommit<string, string>(async () => {
      throw new Error('disk full');
    });

    await expect(commits.submit('a')).rejects.toThrow('disk full');
  });

  it('answers "unavailable" when a commit outlasts its deadline, and lets the next batch go', async () => {
    const stuck: Batch[] = [];
    const commits = new GroupCommit<string, string>(
      async (batch: Batch) => {
        if (batch.some((item) => item.value === 'hangs')) {
          stuck.push(batch);
          return new Promise<void>(() => undefined);
        }
        for (const item of batch) item.resolve('stored');
      },
      256,
      50,
    );

    const first = commits.submit('hangs');
    const second = commits.submit('after');
    const refusal = await first.catch((err: unknown) => err);

    expect(refusal).toBeInstanceOf(DatabaseTimeoutError);
    expect(isDatabaseUnavailable(refusal)).toBe(true);
    await expect(second).resolves.toBe('stored');
    // A late answer of the stuck commit changes nothing for its callers.
    stuck[0][0].resolve('stored late');
    await expect(first).rejects.toBeInstanceOf(DatabaseTimeoutError);
  });
});
