import { DatabaseTimeoutError, settlesWithin } from './deadline';

/** One caller's share of a batch: its value, and how to answer it. */
export interface Pending<In, Out> {
  value: In;
  resolve(result: Out): void;
  reject(err: unknown): void;
}

/** How long a batch may take to commit before its callers hear that the database is away. */
export const COMMIT_DEADLINE_MS = 5_000;

/**
 * Writes that arrive while a commit is under way wait for the next one and share it, so a busy
 * gateway pays one round trip and one fsync for many requests instead of one each.
 *
 * One commit runs at a time: on the 2-core bench machine, one large commit took more webhooks
 * per second than two or four smaller ones in parallel (the gateway's CPU, not MySQL, is the
 * limit), and better-sqlite3 has a single connection anyway. `commit` gets a batch and must
 * answer every item in it; if it throws, the items it left unanswered get the error.
 */
export class GroupCommit<In, Out> {
  private readonly pending: Array<Pending<In, Out>> = [];
  private flushing = false;

  constructor(
    private readonly commit: (batch: Array<Pending<In, Out>>) => Promise<void>,
    private readonly maxBatch = 256,
    private readonly deadlineMs = COMMIT_DEADLINE_MS,
  ) {}

  submit(value: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.pending.push({ value, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        // A promise settles once: rejecting the items already answered does nothing.
        const committed = this.commit(batch).catch((err: unknown) => {
          for (const item of batch) item.reject(err);
        });
        // A commit the database never answers must not hold every later write behind it: its
        // items are told "unavailable" and the next batch goes on, on another connection. If
        // the late commit lands after all, a sender's retry finds the stored event (200).
        if (!(await settlesWithin(committed, this.deadlineMs))) {
          const late = new DatabaseTimeoutError('a commit', this.deadlineMs);
          for (const item of batch) item.reject(late);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
