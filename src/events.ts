import { createNanoEvents } from "nanoevents";
import { isThenable } from "./awaitable.ts";

type Listener = (...args: never[]) => unknown;

/**
 * nanoevents with listeners kept apart from the code that emits: a listener that throws, or
 * returns a rejected promise, is reported to `onError` (with the event's name) and neither stops
 * the other listeners nor reaches the emitter.
 */
export interface SafeEvents<Events extends { [event: string]: Listener }> {
  on<E extends keyof Events & string>(event: E, listener: Events[E]): () => void;
  emit<E extends keyof Events & string>(event: E, ...args: Parameters<Events[E]>): void;
  has(event: keyof Events & string): boolean;
  /** Drops every listener. */
  clear(): void;
}

/** A new `SafeEvents` that reports listeners' errors to `onError`. */
export function safeEvents<Events extends { [event: string]: Listener }>(
  onError: (error: unknown, event: string) => void,
): SafeEvents<Events> {
  const emitter = createNanoEvents<Events>();
  return {
    on(event, listener) {
      const safe = ((...args: unknown[]) => {
        try {
          const result: unknown = (listener as unknown as (...a: unknown[]) => unknown)(...args);
          if (isThenable(result)) result.then(undefined, (e: unknown) => onError(e, event));
        } catch (error) {
          onError(error, event);
        }
      }) as unknown as Events[typeof event];
      return emitter.on(event, safe);
    },
    emit: (event, ...args) => emitter.emit(event, ...args),
    has: (event) => (emitter.events[event]?.length ?? 0) > 0,
    clear() {
      emitter.events = {};
    },
  };
}
