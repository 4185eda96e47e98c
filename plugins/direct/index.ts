/**
 * `notification.send`: one notification to named users (every device they registered) and/or to
 * device tokens given outright. Users and tokens become separate dispatches, since the core
 * resolves users to tokens and sends tokens as they are.
 */
import { z } from 'zod';
import {
  basicMessage,
  body,
  dataMap,
  definePlugin,
  deviceToken,
  identifier,
  imageUrl,
  listOf,
  title,
  unique,
  withinPayloadLimit,
  type Dispatch,
} from '../../src/plugins/kit';

export const NOTIFICATION_SEND = 'notification.send';

const notificationSend = withinPayloadLimit(
  z
    .strictObject({
      userIds: listOf(identifier).optional(),
      tokens: listOf(deviceToken).optional(),
      title,
      body,
      data: dataMap.optional(),
      imageUrl: imageUrl.optional(),
    })
    .superRefine((data, ctx) => {
      if ((data.userIds?.length ?? 0) + (data.tokens?.length ?? 0) > 0) return;
      ctx.addIssue({
        code: 'custom',
        message: 'needs a target: userIds, tokens or both, with at least one entry',
      });
    }),
  basicMessage,
);

export default definePlugin({
  name: 'direct',
  schemas: { [NOTIFICATION_SEND]: notificationSend },
  plan: ({ data }) => {
    const message = basicMessage(data);
    const dispatches: Dispatch[] = [];
    const userIds = unique(data.userIds ?? []);
    const tokens = unique(data.tokens ?? []);
    if (userIds.length > 0) dispatches.push({ audience: { kind: 'users', userIds }, message });
    if (tokens.length > 0) dispatches.push({ audience: { kind: 'tokens', tokens }, message });
    return dispatches;
  },
});
