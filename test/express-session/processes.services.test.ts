// Two Express processes sharing one Redis, as behind a load balancer: a session made on one is
// read, changed and ended on the other. Each process runs the BUILT package (npm test builds
// first), one through its ESM build and one through its CJS build, in plain Node.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { requireService, runId, services } from "../helpers/services.ts";
import { Client } from "./app.ts";

const up = await requireService("redis");
const script = new URL("./server.mjs", import.meta.url).pathname;
const children: ChildProcess[] = [];

/** Starts test/express-session/server.mjs on `build`; resolves to its URL once it listens. */
async function startExpress(build: "esm" | "cjs", options: object): Promise<string> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, STORE_BUILD: build, STORE_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the Express process exited with ${code}`)));
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
}

afterAll(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }),
  );
});

describe.skipIf(!up)("two Express processes on one Redis (built package)", () => {
  it("sign in on one, read on the other; a change and a sign-out on one are seen on the other", async () => {
    const options = {
      backend: "redis",
      url: `redis://${services.redis.host}:${services.redis.port}`,
      namespace: runId(),
    };
    const [one, two] = await Promise.all([
      startExpress("esm", options),
      startExpress("cjs", options),
    ]);
    const browser = new Client();
    const { body: login } = await browser.request(`${one}/login`, "POST");
    expect(await browser.request(`${two}/me`)).toMatchObject({
      status: 200,
      body: { sid: login.sid, user: "ada", views: 0 },
    });
    await browser.request(`${two}/views`, "POST");
    await browser.request(`${one}/views`, "POST");
    expect((await browser.request(`${two}/me`)).body).toMatchObject({ user: "ada", views: 2 });
    // express-session leaves the cookie in place on destroy: the browser still sends it.
    await browser.request(`${two}/logout`, "POST");
    expect(browser.sessionCookie).toBeDefined();
    expect((await browser.request(`${one}/me`)).body).toMatchObject({ user: null, views: 0 });
  }, 30_000);
});
