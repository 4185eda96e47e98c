/**
 * `condition.broadcast`: one notification to the devices whose topic subscriptions match an FCM
 * condition. The condition is parsed at the webhook, so a malformed one is a 422 there rather
 * than an FCM error after the 202.
 */
import { z } from 'zod';
import {
  basicMessage,
  body,
  dataMap,
  definePlugin,
  imageUrl,
  title,
  withinPayloadLimit,
} from '../../src/plugins/kit';
import { ConditionSyntaxError, formatCondition, parseCondition } from './parser';

export const CONDITION_BROADCAST = 'condition.broadcast';

/** Five quoted topic names of 900 characters and their operators fit with room to spare. */
const MAX_CONDITION_LENGTH = 5000;

/** A condition in FCM's syntax, given back in the normalised form `formatCondition` writes. */
const condition = z
  .string()
  .max(MAX_CONDITION_LENGTH, `must be at most ${MAX_CONDITION_LENGTH} characters`)
  .transform((text, ctx) => {
    try {
      return formatCondition(parseCondition(text));
    } catch (error) {
      if (!(error instanceof ConditionSyntaxError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
      return z.NEVER;
    }
  });

const conditionBroadcast = withinPayloadLimit(
  z.strictObject({
    condition,
    title,
    body,
    data: dataMap.optional(),
    imageUrl: imageUrl.optional(),
  }),
  basicMessage,
);

export default definePlugin({
  name: 'condition',
  schemas: { [CONDITION_BROADCAST]: conditionBroadcast },
  plan: ({ data }) => [
    { audience: { kind: 'condition', condition: data.condition }, message: basicMessage(data) },
  ],
});
