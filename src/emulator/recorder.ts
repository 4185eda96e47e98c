/**
 * What the emulator remembers: the messages it accepted (bounded, or none at all for big
 * benchmarks) and counters that are always kept.
 */
export interface ReceivedMessage {
  /** The id returned to the sender: the last segment of `name`. */
  id: string;
  name: string;
  project: string;
  token?: string;
  topic?: string;
  condition?: string;
  /** The FCM v1 `message` object exactly as it arrived. */
  message: Record<string, unknown>;
  /** Epoch milliseconds. */
  receivedAt: number;
}

export interface EmulatorStats {
  /** `messages:send` requests, whatever became of them. */
  requests: number;
  accepted: number;
  /** Accepted with `validate_only`: counted in `accepted`, never recorded. */
  validateOnly: number;
  refused: number;
  /** Refusals per FCM error code (or canonical status where Google sends no FCM code). */
  refusedByCode: Record<string, number>;
  /** Calls to the OAuth token endpoint. */
  oauthTokenRequests: number;
  /** Calls to the Instance ID batchAdd / batchRemove endpoints. */
  topicManagementRequests: number;
  /** Messages currently held in the record. */
  recorded: number;
}

export class Recorder {
  private ring: ReceivedMessage[] = [];
  private start = 0;
  private counters = Recorder.zero();

  constructor(
    private readonly enabled: boolean,
    private readonly limit: number,
  ) {}

  private static zero(): Omit<EmulatorStats, 'recorded' | 'refusedByCode'> & {
    refusedByCode: Map<string, number>;
  } {
    return {
      requests: 0,
      accepted: 0,
      validateOnly: 0,
      refused: 0,
      refusedByCode: new Map(),
      oauthTokenRequests: 0,
      topicManagementRequests: 0,
    };
  }

  countRequest(): void {
    this.counters.requests += 1;
  }

  countOauth(): void {
    this.counters.oauthTokenRequests += 1;
  }

  countTopicManagement(): void {
    this.counters.topicManagementRequests += 1;
  }

  countRefused(code: string): void {
    this.counters.refused += 1;
    this.counters.refusedByCode.set(code, (this.counters.refusedByCode.get(code) ?? 0) + 1);
  }

  countValidateOnly(): void {
    this.counters.accepted += 1;
    this.counters.validateOnly += 1;
  }

  /** Whether accepted messages are kept (and so worth building a record for). */
  get recording(): boolean {
    return this.enabled && this.limit > 0;
  }

  countAccepted(): void {
    this.counters.accepted += 1;
  }

  keep(received: ReceivedMessage): void {
    if (!this.recording) {
      return;
    }
    if (this.ring.length < this.limit) {
      this.ring.push(received);
      return;
    }
    // Full: overwrite the oldest so recording stays O(1) under a benchmark's load.
    this.ring[this.start] = received;
    this.start = (this.start + 1) % this.limit;
  }

  /** Oldest first. */
  messages(): ReceivedMessage[] {
    return [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }

  clearMessages(): void {
    this.ring = [];
    this.start = 0;
  }

  stats(): EmulatorStats {
    return {
      ...this.counters,
      refusedByCode: Object.fromEntries(this.counters.refusedByCode),
      recorded: this.ring.length,
    };
  }

  reset(): void {
    this.clearMessages();
    this.counters = Recorder.zero();
  }
}
