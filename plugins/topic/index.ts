/** `topic.broadcast`: one notification to every device subscribed to an FCM topic. */
import { z } from 'zod';
import {
  basicMessage,
  body,
  dataMap,
  definePlugin,
  imageUrl,
  title,
  topicName,
  withinPayloadLimit,
} from '../../src/plugins/kit';

export const TOPIC_BROADCAST = 'topic.broadcast';

const topicBroadcast = withinPayloadLimit(
  z.strictObject({
    topic: topicName,
    title,
    body,
    data: dataMap.optional(),
    imageUrl: imageUrl.optional(),
  }),
  basicMessage,
);

export default definePlugin({
  name: 'topic',
  schemas: { [TOPIC_BROADCAST]: topicBroadcast },
  plan: ({ data }) => [
    { audience: { kind: 'topic', topic: data.topic }, message: basicMessage(data) },
  ],
});
