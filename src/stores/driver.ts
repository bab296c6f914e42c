import { BackendError } from "../errors.ts";

/**
 * The error of a Node store whose driver package (an optional peer dependency) did not load.
 * Each store loads its driver on first use with the name written out inside a `try`:
 *
 * ```ts
 * try {
 *   return driverClass("postgres", "pg", (await import("pg")).Pool);
 * } catch (error) {
 *   throw driverError("postgres", "pg", error);
 * }
 * ```
 *
 * Written out, bundlers can keep the package external and file tracers (Next.js standalone,
 * Nitro) copy it into the deployed output, which neither can do for an `import(variable)`;
 * inside `try`, a bundler that cannot find the package (the user chose another store) warns
 * rather than failing the build (Turbopack, esbuild).
 *
 * A package that is not there gets a message that says what to install; one that is there but
 * cannot load (a native binding built for another Node, a dependency of its own missing) gets
 * its own error, never advice to install what is installed.
 */
export function driverError(store: string, pkg: string, error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  if (isNotFound(error, pkg)) {
    return new BackendError(`the ${store} store needs the "${pkg}" package: npm install ${pkg}`, {
      cause: error,
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new BackendError(
    `the ${store} store could not load "${pkg}" (installed, but loading it failed: ${reason})`,
    { cause: error },
  );
}

/**
 * `value`, the driver's class (or factory function), checked. webpack builds an app whose
 * dependencies lacked the package with an empty module in its place, which would otherwise fail
 * much later as "… is not a constructor".
 */
export function driverClass<T>(store: string, pkg: string, value: T): T {
  if (typeof value === "function") return value;
  throw new BackendError(
    `the ${store} store needs the "${pkg}" package: npm install ${pkg}, then build the app again (it was bundled without it)`,
  );
}

/**
 * Whether `error` says that `pkg` itself cannot be found. Node names the missing package first
 * (`Cannot find package 'pg' imported from …`, `Cannot find module 'pg'` then a require stack),
 * as do bundlers' runtimes; a dependency of the driver that is missing is named there instead,
 * with the driver only in the stack, and a file of the driver that is missing by its path.
 */
function isNotFound(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  return /^Cannot find (?:module|package) '([^']+)'/.exec(String(message))?.[1] === pkg;
}
