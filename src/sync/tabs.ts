/** A channel to the other managers of one namespace in this origin (tabs, workers, frames). */
export interface TabChannel {
  post(message: unknown): void;
  close(): void;
}

/**
 * Opens a `BroadcastChannel` named `name`, or returns `undefined` where there is none. Messages
 * reach every other channel of that name in the origin, never the sender.
 */
export function openTabChannel(
  name: string,
  onMessage: (data: unknown) => void,
): TabChannel | undefined {
  const { BroadcastChannel: Channel } = globalThis as {
    BroadcastChannel?: typeof BroadcastChannel;
  };
  if (!Channel) return undefined;
  const channel = new Channel(name);
  // In Node a BroadcastChannel keeps the process alive until closed, unless unref'd.
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (event) => onMessage(event.data);
  return { post: (message) => channel.postMessage(message), close: () => channel.close() };
}
