// Server rendering of components that use the stores: Svelte subscribes while it renders on the
// server, so this is where "no storage touched on the server" is at stake. The components of the
// browser tests are compiled here with svelte/compiler (`generate: "server"`), as SvelteKit's
// server build compiles them, and rendered with svelte/server.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compile } from "svelte/compiler";
import { render } from "svelte/server";
import { afterAll, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { listenersOf } from "./listeners.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the project (git-ignored), so that the compiled code finds svelte where the tests do.
const out = join(root, "test-results", `svelte-ssr-${process.pid}`);
afterAll(() => rm(out, { recursive: true, force: true }));

/** The component test/svelte/<name>.svelte, compiled for the server and imported. */
async function serverComponent(name: string) {
  const file = fileURLToPath(new URL(`./${name}.svelte`, import.meta.url));
  const { js, warnings } = compile(await readFile(file, "utf8"), {
    generate: "server",
    filename: file,
  });
  expect(warnings).toEqual([]);
  const binding = pathToFileURL(join(root, "src/svelte/index.ts")).href;
  await mkdir(out, { recursive: true });
  const compiled = join(out, `${name}.js`);
  await writeFile(
    compiled,
    js.code.replace('"../../src/svelte/index.ts"', JSON.stringify(binding)),
  );
  return (await import(pathToFileURL(compiled).href)).default;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function serverManager() {
  // Spied before the manager opens it: the manager keeps the methods it was given.
  const store = memoryStore();
  const reads = [vi.spyOn(store, "get"), vi.spyOn(store, "list")];
  const sm = new SessionManager<{ name: string }>({ backend: store, warnBefore: 0 });
  await sm.add("a", { data: { name: "Ada" } });
  await settle();
  for (const read of reads) read.mockClear();
  const listeners = listenersOf(sm);
  return { sm, reads, listeners };
}

describe("server rendering", () => {
  it("renders a $store component without reading storage or keeping listeners", async () => {
    const SessionView = await serverComponent("SessionView");
    const { sm, reads, listeners } = await serverManager();
    const { body } = render(SessionView, { props: { manager: sm, id: "a" } });
    expect(body).toContain("nobody");
    expect(body).toContain("no session");
    expect(body).toContain("0 sessions");
    expect(body).toContain("ready");
    await settle();
    for (const read of reads) expect(read).not.toHaveBeenCalled();
    expect(listeners()).toBe(0);
    await sm.close();
  });

  it("renders a component in Svelte 4 syntax without reading storage or keeping listeners", async () => {
    const SessionLegacy = await serverComponent("SessionLegacy");
    const { sm, reads, listeners } = await serverManager();
    const { body } = render(SessionLegacy, { props: { manager: sm, id: "a" } });
    expect(body).toContain("nobody");
    await settle();
    for (const read of reads) expect(read).not.toHaveBeenCalled();
    expect(listeners()).toBe(0);
    await sm.close();
  });

  it("renders a fromStore component without reading storage or keeping listeners", async () => {
    const SessionRunes = await serverComponent("SessionRunes");
    const { sm, reads, listeners } = await serverManager();
    const { body } = render(SessionRunes, { props: { manager: sm, id: "a" } });
    expect(body).toContain("nobody");
    expect(body).toContain("no session");
    await settle();
    for (const read of reads) expect(read).not.toHaveBeenCalled();
    expect(listeners()).toBe(0);
    await sm.close();
  });
});
