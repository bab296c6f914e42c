import { createNanoEvents, type Emitter } from "nanoevents";
import { isThenable } from "./awaitable.ts";

type Listener = (...args: never[]) => unknown;

/**
 * nanoevents with listeners kept apart from the code that emits: a listener that throws, or
 * returns a rejected promise, is reported to `onError` (with the event's name) and neither stops
 * the other listeners nor reaches the emitter.
 */
export class SafeEvents<Events extends { [event: string]: Listener }> {
  private emitter: Emitter<Events> = createNanoEvents<Events>();

  constructor(private readonly onError: (error: unknown, event: string) => void) {}

  on<E extends keyof Events & string>(event: E, listener: Events[E]): () => void {
    const safe = ((...args: unknown[]) => {
      try {
        const result: unknown = (listener as unknown as (...a: unknown[]) => unknown)(...args);
        if (isThenable(result)) result.then(undefined, (e: unknown) => this.onError(e, event));
      } catch (error) {
        this.onError(error, event);
      }
    }) as unknown as Events[E];
    return this.emitter.on(event, safe);
  }

  emit<E extends keyof Events & string>(event: E, ...args: Parameters<Events[E]>): void {
    this.emitter.emit(event, ...args);
  }

  has(event: keyof Events & string): boolean {
    return (this.emitter.events[event]?.length ?? 0) > 0;
  }

  /** Drops every listener. */
  clear(): void {
    this.emitter.events = {};
  }
}
