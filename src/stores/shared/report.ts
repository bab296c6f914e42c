// Error reporting: what a store could not read is reported to the manager, not thrown.
import { BackendError } from "../../errors.ts";
import type { StoreContext } from "../types.ts";

/** Where a store reports the problems it works around; see `reporter`. */
export interface Reporter {
  /** Reports `error` to the manager that opened the store (nowhere before `open`). */
  (error: Error): void;
  /** Reports to `context` from now on: called by the store's `open`. */
  to(context: StoreContext): void;
  /** What `read` returns, or `undefined` when it throws (reported unless `quiet`). */
  skip<T>(read: () => T, quiet?: boolean): T | undefined;
}

/** A `Reporter` that reports nowhere until `to(context)`. */
export function reporter(): Reporter {
  let sink: StoreContext | undefined;
  const report = ((error: Error) => sink?.report(error)) as Reporter;
  report.to = (context) => {
    sink = context;
  };
  report.skip = (read, quiet = false) => {
    try {
      return read();
    } catch (error) {
      if (!quiet) report(error as Error);
      return undefined;
    }
  };
  return report;
}

/** A `BackendError` that names the store it comes from: `the <store> store <message>`. */
export function storeError(store: string, message: string, cause?: unknown): BackendError {
  return new BackendError(`the ${store} store ${message}`, cause === undefined ? {} : { cause });
}
