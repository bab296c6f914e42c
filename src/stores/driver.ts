import { BackendError } from "../errors.ts";

/**
 * Loads the driver package a Node store needs (an optional peer dependency) on first use, so that
 * neither a browser bundle nor a Node user of another store ever loads it. `load` is the store's
 * own `() => import("<pkg>")` with the name written out: bundlers can then keep the package
 * external and file tracers (Next.js standalone, Nitro) copy it into the deployed output, which
 * neither can do for an `import(variable)`.
 *
 * A package that is not there fails with a `BackendError` that says what to install; one that is
 * there but cannot load (a native binding built for another Node, a dependency of its own
 * missing) fails with its own error, never with advice to install what is installed.
 * @example
 * const { default: Database } = await loadDriver("sqlite", "better-sqlite3", () => import("better-sqlite3"));
 */
export async function loadDriver<T>(
  store: string,
  pkg: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isNotFound(error, pkg)) {
      throw new BackendError(`the ${store} store needs the "${pkg}" package: npm install ${pkg}`, {
        cause: error,
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendError(
      `the ${store} store could not load "${pkg}" (installed, but loading it failed: ${reason})`,
      { cause: error },
    );
  }
}

/**
 * Whether `error` says that `pkg` itself cannot be found. Node names the missing package first
 * (`Cannot find package 'pg' imported from …`, `Cannot find module 'pg'` then a require stack);
 * a dependency of the driver that is missing is named there instead, with the driver only in the
 * stack, and a file of the driver that is missing is named by its path.
 */
function isNotFound(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  return /^Cannot find (?:module|package) '([^']+)'/.exec(String(message))?.[1] === pkg;
}
