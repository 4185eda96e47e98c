import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Message } from 'firebase-admin/messaging';
import { settlesWithin } from '../db/deadline';
import type { DevicesRepository } from '../db/devices-repository';
import {
  LeaseLostError,
  type Job,
  type JobQueue,
  type NewJob,
  type Progress,
} from '../db/job-queue';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Audience, MessageTemplate } from '../plugins/contract';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './backoff';
import type { FailedOutcome, SendOutcome } from './fcm-outcome';
import { readPages, type Page } from './audience-pages';
import { Semaphore } from './semaphore';

/** What the dispatcher needs of an FCM sender: one outcome per message, in order. */
export interface MessageSender {
  send(messages: readonly Message[]): Promise<SendOutcome[]>;
}

export interface DispatcherOptions {
  /** Jobs worked on at once by this process. */
  concurrency: number;
  /** `sendEach` batches in flight at once across all jobs of this process. */
  batchesInFlight: number;
  /** Tokens per page read from the database and per `sendEach` batch (at most 500). */
  pageSize: number;
  /** How often an idle dispatcher looks for due jobs (new local events wake it at once). */
  pollIntervalMs: number;
  retry: RetryPolicy;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  concurrency: 16,
  batchesInFlight: 8,
  pageSize: 500,
  pollIntervalMs: 250,
  retry: DEFAULT_RETRY_POLICY,
};

/**
 * How long a stop waits, after the grace, for pages already with FCM. A page of 500 messages
 * through a slow FCM takes seconds; one that FCM never answers would take the SDK's timeouts
 * and retries, minutes.
 */
const ABANDON_AFTER_MS = 10_000;

interface Running {
  job: Job;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Works the delivery queue: claims due jobs under a lease, reads each audience a page at a
 * time, sends each page as one `sendEach` batch, and settles every token by API.md §7 — sent,
 * pruned, retried later in a new job, or failed. Several pages of a job are in flight at once,
 * but they settle in order, so the job's cursor only ever moves past pages whose counts are
 * stored: a crash resends at most the pages in flight, never loses one.
 */
export class Dispatcher {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly options: DispatcherOptions;
  private readonly running = new Map<string, Running>();
  private readonly sendSlots: Semaphore;
  private timer: NodeJS.Timeout | undefined;
  private reaper: NodeJS.Timeout | undefined;
  private polling = false;
  private pollAgain = false;
  private stopped = true;

  constructor(
    private readonly deps: {
      queue: JobQueue;
      devices: DevicesRepository;
      sender: MessageSender;
      metrics: Metrics;
      logger: Logger;
    },
    options: Partial<DispatcherOptions> = {},
  ) {
    this.options = { ...DEFAULT_DISPATCHER_OPTIONS, ...options };
    this.sendSlots = new Semaphore(this.options.batchesInFlight);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const reapEvery = Math.max(100, Math.floor(this.deps.queue.leaseMs / 2));
    this.reaper = setInterval(() => void this.reap(), reapEvery);
    this.reaper.unref();
    this.wake();
  }

  /** Looks for due jobs now (called when this process has just accepted an event). */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    void this.poll();
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then stops the rest between
   * pages and hands their jobs back to the queue so another process takes them at once. A page
   * that FCM does not answer would hold the stop for the SDK's timeouts and retries (minutes):
   * after `abandonMs` more, such jobs are handed back with their page still in flight, and the
   * next worker may send that page again (at-least-once, API.md §7).
   */
  async stop(graceMs = 10_000, abandonMs = ABANDON_AFTER_MS): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.reaper);
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (await settlesWithin(all(), graceMs)) return;

    for (const running of this.running.values()) running.abort.abort();
    if (await settlesWithin(all(), abandonMs)) return;

    const stuck = [...this.running.values()];
    this.deps.logger.warn({ jobs: stuck.length }, 'FCM did not answer in time; handing jobs back');
    await Promise.allSettled(stuck.map(({ job }) => this.deps.queue.release(job.id, this.owner)));
  }

  get activeJobs(): number {
    return this.running.size;
  }

  private async poll(): Promise<void> {
    this.polling = true;
    clearTimeout(this.timer);
    try {
      do {
        this.pollAgain = false;
        const free = this.options.concurrency - this.running.size;
        if (free <= 0 || this.stopped) break;
        const jobs = await this.deps.queue.claim(this.owner, free);
        for (const job of jobs) this.run(job);
        if (jobs.length === free) this.pollAgain = true;
      } while (this.pollAgain && !this.stopped);
    } catch (err) {
      this.deps.logger.error({ err }, 'could not claim delivery jobs');
    } finally {
      this.polling = false;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.wake(), this.options.pollIntervalMs);
        this.timer.unref();
      }
    }
  }

  private async reap(): Promise<void> {
    try {
      const returned = await this.deps.queue.reap();
      if (returned > 0) {
        this.deps.logger.warn({ jobs: returned }, 'returned jobs whose lease ran out to the queue');
        this.wake();
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'could not reap expired leases');
    }
  }

  private run(job: Job): void {
    const abort = new AbortController();
    const done = this.process(job, abort).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
    this.running.set(job.id, { job, abort, done });
  }

  private async process(job: Job, abort: AbortController): Promise<void> {
    const log = this.deps.logger.child({
      jobId: job.id,
      notificationId: job.notificationId,
      plugin: job.plugin,
      reqId: job.requestId ?? undefined,
      attempt: job.attempt,
    });
    // A lost lease means another worker holds the job now: stop before the next page, and
    // leave the job alone (it is not ours to hand back).
    const heartbeat = setInterval(
      () => {
        this.deps.queue.renew(job.id, this.owner).then(
          (held) => held || abort.abort(new LeaseLostError(job.id)),
          (err: unknown) => log.error({ err }, 'could not renew lease'),
        );
      },
      Math.max(50, Math.floor(this.deps.queue.leaseMs / 3)),
    );
    heartbeat.unref();

    try {
      const complete = await this.sendAllPages(job, abort.signal, log);
      if (!complete) {
        await this.deps.queue.release(job.id, this.owner);
        log.info({}, 'job handed back to the queue');
        return;
      }
      const status = await this.deps.queue.finish(job, this.owner);
      if (status !== undefined) {
        this.deps.metrics.notifications.inc({ plugin: job.plugin, status });
        log.info({ status }, 'notification settled');
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn({}, 'another worker holds this job now; stopped sending');
      } else {
        log.error({ err }, 'delivery job failed; it will be retried after its lease');
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Sends every page of the job; false when stopped before the end. Throws `LeaseLostError`
   * when another worker took the job, after the pages already sent have settled.
   */
  private async sendAllPages(job: Job, signal: AbortSignal, log: Logger): Promise<boolean> {
    let settled: Promise<void> = Promise.resolve();
    let failure: unknown;
    let unsettled = 0;
    const pagesInFlight = Math.max(1, Math.min(4, this.options.batchesInFlight));
    const waiters: Array<() => void> = [];
    const stopped = () => signal.aborted || failure !== undefined;

    for await (const page of readPages(job, this.deps.devices, this.options.pageSize)) {
      if (stopped()) break;
      while (unsettled >= pagesInFlight) await new Promise<void>((r) => waiters.push(r));
      await this.sendSlots.acquire();
      // Asked again after the waits: the job may have been stopped or lost meanwhile.
      if (stopped()) {
        this.sendSlots.release();
        break;
      }

      unsettled += 1;
      const outcomes = this.sendPage(job, page).finally(() => this.sendSlots.release());
      settled = settled
        .then(async () => {
          const sent = await outcomes;
          if (failure === undefined) await this.settlePage(job, page, sent, log);
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => {
          unsettled -= 1;
          waiters.shift()?.();
        });
    }
    await settled;
    if (failure !== undefined) throw failure;
    if (signal.reason instanceof LeaseLostError) throw signal.reason;
    return !signal.aborted;
  }

  private async sendPage(job: Job, page: Page): Promise<SendOutcome[]> {
    const messages = page.targets.map((target) => withTarget(job.dispatch.message, target));
    const stop = this.deps.metrics.fcmSendDuration.startTimer({ plugin: job.plugin });
    try {
      return await this.deps.sender.send(messages);
    } finally {
      stop();
    }
  }

  private async settlePage(job: Job, page: Page, outcomes: SendOutcome[], log: Logger) {
    const { metrics, queue } = this.deps;
    const policy = this.options.retry;
    const lastAttempt = job.attempt >= policy.maxAttempts;
    const progress: Progress = {
      targeted: job.attempt === 1 ? page.targets.length : 0,
      sent: 0,
      failed: 0,
      pruned: 0,
    };
    const dead = new Map<string, string>();
    const retryTargets: Target[] = [];
    let retryAfterMs = 0;
    let quotaExceeded = false;
    let unavailable = false;

    outcomes.forEach((outcome, i) => {
      const target = page.targets[i];
      if (outcome.kind === 'sent') {
        progress.sent += 1;
        metrics.fcmMessages.inc({ plugin: job.plugin, outcome: 'success', error_code: '' });
        return;
      }
      const code = outcome.errorCode;
      if (outcome.kind === 'retry' && !lastAttempt) {
        retryTargets.push(target);
        retryAfterMs = Math.max(retryAfterMs, outcome.retryAfterMs ?? 0);
        quotaExceeded ||= code === 'QUOTA_EXCEEDED';
        unavailable ||= code === 'UNAVAILABLE';
        metrics.fcmMessages.inc({ plugin: job.plugin, outcome: 'retry', error_code: code });
        return;
      }
      metrics.fcmMessages.inc({ plugin: job.plugin, outcome: 'failure', error_code: code });
      if (outcome.kind === 'prune' && target.kind === 'token') {
        dead.set(target.token, code);
        progress.pruned += 1;
      } else {
        progress.failed += 1;
      }
      progress.lastError = `${code}: ${failureReason(outcome, job.attempt)}`;
    });

    let retry: NewJob | undefined;
    if (retryTargets.length > 0) {
      const delay = retryDelayMs(policy, job.attempt, { retryAfterMs, quotaExceeded, unavailable });
      retry = {
        notificationId: job.notificationId,
        plugin: job.plugin,
        dispatch: { audience: audienceOf(retryTargets), message: job.dispatch.message },
        attempt: job.attempt + 1,
        runAt: new Date(Date.now() + delay),
        requestId: job.requestId,
      };
      log.info({ messages: retryTargets.length, delayMs: delay }, 'retry scheduled');
    }
    await queue.recordProgress(job, this.owner, {
      ...progress,
      cursor: page.cursorAfter,
      retry,
      deadTokens: [...dead.keys()],
    });
    for (const reason of dead.values()) metrics.tokensPruned.inc({ reason });
  }
}

type Target = Page['targets'][number];

/** Why a message ended unsent, for the notification's `lastError`. */
function failureReason(outcome: FailedOutcome, attempt: number): string {
  switch (outcome.kind) {
    case 'fail':
      return outcome.message;
    case 'prune':
      return 'the token is dead; its device was removed';
    case 'retry':
      return `still failing after ${attempt} attempts`;
  }
}

/** The audience of a retry: the very targets that failed, nothing else. */
function audienceOf(targets: Target[]): Audience {
  const [first] = targets;
  if (first.kind === 'topic') return { kind: 'topic', topic: first.topic };
  if (first.kind === 'condition') return { kind: 'condition', condition: first.condition };
  return { kind: 'tokens', tokens: targets.flatMap((t) => (t.kind === 'token' ? [t.token] : [])) };
}

function withTarget(template: MessageTemplate, target: Target): Message {
  switch (target.kind) {
    case 'token':
      return { ...template, token: target.token };
    case 'topic':
      return { ...template, topic: target.topic };
    case 'condition':
      return { ...template, condition: target.condition };
  }
}
