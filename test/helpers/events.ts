import type { SessionManager } from "../../src/index.ts";

/** Every error `sm` emits from now on, in order. */
export function errorsOf<Data>(sm: SessionManager<Data>): Error[] {
  const errors: Error[] = [];
  sm.on("error", (error) => errors.push(error));
  return errors;
}
