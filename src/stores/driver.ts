import { BackendError } from "../errors.ts";

/**
 * Loads the driver package a Node store needs (an optional peer dependency), on first use, so
 * that neither a browser bundle nor a Node user of another store ever loads it. A missing package
 * fails with a `BackendError` that says what to install.
 * @example
 * const { default: Database } = await loadDriver<typeof import("better-sqlite3")>("better-sqlite3", "sqlite");
 */
export async function loadDriver<T>(pkg: string, store: string): Promise<T> {
  try {
    // A variable specifier: bundlers leave it alone, so the driver never enters a bundle.
    return (await import(/* @vite-ignore */ pkg)) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new BackendError(`the ${store} store needs the "${pkg}" package: npm install ${pkg}`, {
        cause: error,
      });
    }
    throw error;
  }
}
