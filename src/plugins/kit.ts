/**
 * The plugin kit: everything a notification type may import from Herald at run time, next to
 * the types of `contract.ts`. It is pure (no I/O, no state, no core module) and depends only on
 * zod, so importing it keeps a plugin testable with plain values.
 *
 * Built-in plugins import it by relative path; a plugin outside this repository does not need
 * it at all: the contract is plain objects and any zod schema (see README, "Writing a plugin").
 */
export type * from './contract';
export { definePlugin } from './define-plugin';
export {
  LIMITS,
  TOPIC_NAME,
  body,
  dataKeyProblem,
  dataMap,
  deviceToken,
  identifier,
  identifierList,
  imageUrl,
  listOf,
  title,
  topicName,
} from './fields';
export {
  FCM_PAYLOAD_LIMIT_BYTES,
  basicMessage,
  fitText,
  jsonTextBytes,
  notification,
  payloadBytes,
  unique,
  withinPayloadLimit,
  type BasicContent,
} from './payload';
