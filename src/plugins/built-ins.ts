/**
 * The notification types that ship with Herald, by the name `PLUGINS` uses for them. Each is
 * loaded only when named, and the map holds loaders rather than paths built from strings, so
 * the compiler sees (and the build includes) every module.
 */
type Loader = () => Promise<unknown>;

export const BUILT_IN_PLUGINS: ReadonlyMap<string, Loader> = new Map<string, Loader>([
  ['chat', () => import('../../plugins/chat')],
  ['topic', () => import('../../plugins/topic')],
  ['condition', () => import('../../plugins/condition')],
  ['direct', () => import('../../plugins/direct')],
]);
