/**
 * What every scenario sends: the same message, to tokens shaped alike, so that Herald and the
 * plain firebase-admin peer move identical bytes.
 */
import type { Message } from 'firebase-admin/messaging';

/** Characters per device token. Real FCM tokens run to about 160; 100 lets a direct event of
 * 500 tokens stay under the webhook's 64 KiB body limit. */
export const TOKEN_LENGTH = 100;

export const BENCH_TITLE = 'Your order has shipped';
export const BENCH_BODY = 'Parcel 4411 left the warehouse and arrives on Thursday.';

/** The message template the `direct` plugin makes of BENCH_TITLE and BENCH_BODY. */
export const BENCH_MESSAGE: Omit<Message, 'token'> = {
  notification: { title: BENCH_TITLE, body: BENCH_BODY },
};

const PAD = 'x'.repeat(TOKEN_LENGTH);

/** The n-th device token of a scenario; `prefix` keeps scenarios apart. */
export function benchToken(n: number, prefix = 'bench'): string {
  const head = `${prefix}:${n.toString(36).padStart(8, '0')}:`;
  return head + PAD.slice(head.length);
}
