// Scale-out as DESIGN.md promises it: server processes that share one Redis or PostgreSQL keep
// nothing another process needs. Real `sessionmanager serve` processes (dist/cli.js; `npm test`
// builds first, without a build this file is skipped with a warning) on free ports, with the same
// secret and a namespace of their own per run. A missing service skips its tests with a warning
// (REQUIRE_SERVICES=1: they run and fail).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET, token } from "../helpers/server.ts";
import { freePort, requireService, runId, services } from "../helpers/services.ts";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 60_000;

const built = existsSync(CLI);
if (!built) {
  console.warn(
    "[vitest] WARNING: dist/cli.js is missing: the scale-out tests are skipped (run `npm run build`)",
  );
}

/** One `sessionmanager serve` process on a fixed port, which can be stopped and started again. */
class ServerProcess {
  readonly url: string;
  /** Everything the process wrote on stderr, over all its runs. */
  stderr = "";
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    private readonly args: string[],
    private readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Spawns the process and resolves once it prints the URL it listens on. */
  start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [CLI, "serve", "--port", String(this.port), "--log-level", "warn", ...this.args],
      { env: { ...process.env, SESSIONMANAGER_SECRET: SECRET }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let stdout = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      this.stderr += text;
    });
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`sessionmanager serve ${why}\n${stdout}${this.stderr}`));
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(`printed no URL within ${START_TIMEOUT_MS} ms`);
      }, START_TIMEOUT_MS);
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        stdout += text;
        if (stdout.includes(`listening on ${this.url}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.exited.then((code) => fail(`exited with code ${code}`));
    });
  }

  /** SIGTERM (SIGKILL if it hangs); resolves to the exit code, `null` if it had to be killed. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return this.exited;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read bodies by path; src checks the types.
  body: any;
}

/** One API call to `server` as `owner`. */
async function call(
  server: ServerProcess,
  owner: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${await token(owner)}`,
    ...options.headers,
  };
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(`${server.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const backends = [
  { name: "redis", url: `redis://${services.redis.host}:${services.redis.port}` },
  { name: "postgres", url: services.postgres.url },
] as const;

for (const backend of backends) {
  const up = built && (await requireService(backend.name));

  describe.skipIf(!up)(`two server processes on one ${backend.name}`, () => {
    const namespace = runId();
    const args = ["--backend", backend.name, "--url", backend.url, "--namespace", namespace];
    const servers: ServerProcess[] = [];
    const owners = new Set<string>();
    let a: ServerProcess;
    let b: ServerProcess;

    beforeAll(async () => {
      a = new ServerProcess(args, await freePort());
      b = new ServerProcess(args, await freePort());
      servers.push(a, b);
      // Both at once: the store's setup (a Postgres table) must bear two processes racing.
      await Promise.all([a.start(), b.start()]);
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      // Leave the shared database as it was, then stop every process, whatever failed.
      const live = servers.find((s) => s.running);
      await Promise.allSettled(
        [...owners].map((owner) => live && call(live, owner, "DELETE", "/v1/sessions")),
      );
      await Promise.all(servers.map((server) => server.stop()));
    }, TEST_TIMEOUT_MS);

    /** A fresh owner for one test, whose sessions afterAll clears. */
    const owner = (name: string) => {
      const id = `${name}-${runId()}`;
      owners.add(id);
      return id;
    };

    it(
      "reads, touches and removes through one process what was written through the other",
      async () => {
        const alice = owner("alice");
        const path = "/v1/sessions/user123";
        const put = await call(a, alice, "PUT", path, {
          body: { data: { name: "Ada" }, ttl: 60_000 },
          headers: { "if-none-match": "*" },
        });
        expect(put.status).toBe(201);
        const created = put.body.session;

        const read = await call(b, alice, "GET", path);
        expect(read.status).toBe(200);
        expect(read.body.session).toEqual(created);
        // Create-only through B sees A's session: the condition is the store's, not the process's.
        const again = await call(b, alice, "PUT", path, {
          body: { data: "other" },
          headers: { "if-none-match": "*" },
        });
        expect(again.status).toBe(409);
        expect(again.body.error.code).toBe("SESSION_EXISTS");

        const touched = await call(b, alice, "POST", `${path}/touch`, { body: { ttl: 120_000 } });
        expect(touched.status).toBe(200);
        expect(touched.body.session.version).toBe(2);
        expect(touched.body.session.expiresAt).toBeGreaterThan(created.expiresAt);
        const seen = await call(a, alice, "GET", path);
        expect(seen.body.session).toEqual(touched.body.session);
        // A write through A at the version it no longer has is refused with B's copy.
        const stale = await call(a, alice, "PUT", path, {
          body: { data: "stale" },
          headers: { "if-match": '"1"' },
        });
        expect(stale.status).toBe(412);
        expect(stale.body.session.version).toBe(2);

        const list = await call(a, alice, "GET", "/v1/sessions");
        expect(list.body.sessions.map((s: { id: string }) => s.id)).toEqual(["user123"]);
        const removed = await call(b, alice, "DELETE", path);
        expect(removed.status).toBe(200);
        expect((await call(a, alice, "GET", path)).status).toBe(404);
        expect((await call(a, alice, "GET", "/v1/sessions")).body.sessions).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "lets exactly one of many racing creates win, and applies every racing touch once",
      async () => {
        const bob = owner("bob");
        const path = "/v1/sessions/race";
        const creates = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            call(i % 2 ? a : b, bob, "PUT", path, {
              body: { data: { by: i } },
              headers: { "if-none-match": "*" },
            }),
          ),
        );
        const statuses = creates.map((r) => r.status).sort();
        expect(statuses).toEqual([201, ...Array(9).fill(409)]);

        // Twenty touches at once on one session: a write that keeps losing the race is answered
        // 409 CONFLICT ("try again"), never applied twice or lost; tried again, each lands once.
        const conflicts: string[] = [];
        const touch = async (server: ServerProcess): Promise<Reply> => {
          for (;;) {
            const reply = await call(server, bob, "POST", `${path}/touch`);
            if (reply.status !== 409) return reply;
            conflicts.push(reply.body.error.code);
          }
        };
        const touches = await Promise.all(
          Array.from({ length: 20 }, (_, i) => touch(i % 2 ? a : b)),
        );
        expect(touches.map((r) => r.status)).toEqual(Array(20).fill(200));
        expect(new Set(conflicts)).toEqual(new Set(conflicts.length ? ["CONFLICT"] : []));
        const versions = touches.map((r) => r.body.session.version).sort((x, y) => x - y);
        expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
        expect((await call(b, bob, "GET", path)).body.session.version).toBe(21);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "loses nothing when a process is stopped (SIGTERM) and started again",
      async () => {
        const carol = owner("carol");
        const ids = ["s1", "s2", "s3", "s4", "s5"];
        for (const [i, id] of ids.entries()) {
          const via = i % 2 ? b : a;
          const put = await call(via, carol, "PUT", `/v1/sessions/${id}`, {
            body: { data: { n: i }, ttl: 60_000 },
          });
          expect(put.status).toBe(201);
        }
        await call(a, carol, "POST", "/v1/sessions/s2/touch");
        const before = (await call(b, carol, "GET", "/v1/sessions")).body.sessions;

        expect(await a.stop()).toBe(0);
        await expect(fetch(`${a.url}/v1/sessions`)).rejects.toThrow();
        // The other process carries on alone, and its writes are there for A when it is back.
        expect((await call(b, carol, "GET", "/v1/sessions/s2")).body.session.version).toBe(2);
        const during = await call(b, carol, "PUT", "/v1/sessions/s6", {
          body: { data: "while A was down" },
        });
        expect(during.status).toBe(201);

        await a.start();
        const after = (await call(a, carol, "GET", "/v1/sessions")).body.sessions;
        const byId = (list: { id: string }[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
        expect(byId(after)).toEqual(byId([...before, during.body.session]));

        // And the other way round: B restarted, A's writes meanwhile are there.
        expect(await b.stop()).toBe(0);
        const touched = await call(a, carol, "POST", "/v1/sessions/s6/touch");
        await b.start();
        expect((await call(b, carol, "GET", "/v1/sessions/s6")).body.session).toEqual(
          touched.body.session,
        );
        expect(a.stderr + b.stderr).toBe("");
      },
      TEST_TIMEOUT_MS,
    );
  });
}
