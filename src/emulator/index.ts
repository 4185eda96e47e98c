/** The bundled FCM HTTP v1 emulator: start one with `startEmulator`. */
export { startEmulator } from './fcm-emulator';
export type { EmulatorLogger, EmulatorOptions, FcmEmulator, Latency } from './fcm-emulator';
export { FCM_ERROR_CODES, isFcmErrorCode } from './fcm-errors';
export type { FcmErrorCode, GoogleErrorBody } from './fcm-errors';
export type { FaultOptions, ShareFaultOptions, TokenFaultOptions } from './faults';
export type { EmulatorStats, ReceivedMessage } from './recorder';
