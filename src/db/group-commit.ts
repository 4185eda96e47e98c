import { isMysql, type Database } from './connection';

/** One caller's share of a batch: its value, and how to answer it. */
export interface Pending<In, Out> {
  value: In;
  resolve(result: Out): void;
  reject(err: unknown): void;
}

/**
 * Writes that arrive while a commit is under way wait for the next one and share it, so a busy
 * gateway pays one round trip and one fsync for many requests instead of one each. `commit`
 * gets a batch and must answer every item in it; if it throws, the items it left unanswered
 * get the error.
 */
export class GroupCommit<In, Out> {
  private readonly pending: Array<Pending<In, Out>> = [];
  private flushing = 0;
  private readonly maxFlushes: number;

  constructor(
    db: Database,
    private readonly commit: (batch: Array<Pending<In, Out>>) => Promise<void>,
    private readonly maxBatch = 256,
  ) {
    // better-sqlite3 has one connection: a second flush would only queue behind the first.
    this.maxFlushes = isMysql(db) ? 4 : 1;
  }

  submit(value: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.pending.push({ value, resolve, reject });
      if (this.flushing < this.maxFlushes) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing += 1;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        // A promise settles once: rejecting the items already answered does nothing.
        await this.commit(batch).catch((err: unknown) => {
          for (const item of batch) item.reject(err);
        });
      }
    } finally {
      this.flushing -= 1;
    }
  }
}
