/**
 * `chat.message.created`: a new chat message, shown on every device of each recipient except
 * the sender's. The preview is shortened so that the whole message, the caller's own `data`
 * included, stays within FCM's payload limit, whatever the script or emoji it is written in.
 */
import { z } from 'zod';
import {
  FCM_PAYLOAD_LIMIT_BYTES,
  dataMap,
  definePlugin,
  fitText,
  identifier,
  identifierList,
  imageUrl,
  notification,
  payloadBytes,
  title,
  unique,
  withinPayloadLimit,
  type MessageTemplate,
} from '../../src/plugins/kit';

export const CHAT_MESSAGE_CREATED = 'chat.message.created';

/** Longer previews are accepted and shortened; this bounds only the work of shortening. */
const MAX_PREVIEW_LENGTH = 65_536;

const messagePreview = z
  .string()
  .max(MAX_PREVIEW_LENGTH, `must be at most ${MAX_PREVIEW_LENGTH} characters`)
  .regex(/\S/, 'must not be empty');

/** The keys chat puts in every message's `data`; apps tell a chat notification by them. */
const CHAT_DATA_KEYS = ['type', 'id'] as const;

/**
 * The caller's extra `data`. Chat's own keys are refused rather than overwritten, so that a
 * sender who meant something else by `type` or `id` hears about it at the webhook.
 */
const chatData = dataMap.superRefine((data, ctx) => {
  for (const key of CHAT_DATA_KEYS) {
    if (!Object.hasOwn(data, key)) continue;
    ctx.addIssue({ code: 'custom', path: [key], message: 'is set by the chat plugin' });
  }
});

const chatFields = z
  .strictObject({
    recipientUserId: identifier.optional(),
    recipientUserIds: identifierList.optional(),
    senderUserId: identifier.optional(),
    senderName: title,
    messagePreview,
    conversationId: identifier,
    imageUrl: imageUrl.optional(),
    data: chatData.optional(),
  })
  .superRefine((data, ctx) => {
    if (data.recipientUserId !== undefined || data.recipientUserIds !== undefined) return;
    ctx.addIssue({ code: 'custom', message: 'needs recipientUserId or recipientUserIds' });
  });

type ChatMessageCreated = z.output<typeof chatFields>;

/**
 * The message for one chat event. The conversation id doubles as the Android tag and the APNs
 * thread, so a conversation's notifications replace (Android) or group with (iOS) each other
 * instead of piling up.
 */
function chatMessage(data: ChatMessageCreated, body: string): MessageTemplate {
  return {
    notification: notification(data.senderName, body, data.imageUrl),
    data: { ...data.data, type: 'chat', id: data.conversationId },
    android: { priority: 'high', notification: { tag: data.conversationId } },
    apns: {
      headers: { 'apns-priority': '10' },
      payload: { aps: { threadId: data.conversationId } },
    },
  };
}

/** The preview itself can always be shortened; the fields around it must leave it room. */
const chatMessageCreated = withinPayloadLimit(
  chatFields,
  (data) => chatMessage(data, '…'),
  'senderName, conversationId, imageUrl and data together leave no room for the preview ' +
    `within FCM's ${FCM_PAYLOAD_LIMIT_BYTES}-byte limit`,
);

export default definePlugin({
  name: 'chat',
  schemas: { [CHAT_MESSAGE_CREATED]: chatMessageCreated },
  plan: ({ data }) => {
    const named = data.recipientUserId === undefined ? [] : [data.recipientUserId];
    const userIds = unique([...named, ...(data.recipientUserIds ?? [])]).filter(
      (userId) => userId !== data.senderUserId,
    );
    if (userIds.length === 0) return [];

    const room = FCM_PAYLOAD_LIMIT_BYTES - payloadBytes(chatMessage(data, ''));
    const message = chatMessage(data, fitText(data.messagePreview, room));
    return [{ audience: { kind: 'users', userIds }, message }];
  },
});
