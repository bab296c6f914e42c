// Issue 11, finding 4, in a store that keeps records as text (localStorage): a record whose data
// nests deeper than MAX_DATA_DEPTH, planted beside the manager's own, is skipped with a
// BackendError on `error`, never a stack overflow.
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import { errorsOf } from "../helpers/events.ts";
import { rec } from "../helpers/records.ts";

afterEach(() => localStorage.clear());

const nestedJson = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

describe("localStorage: stored data deeper than the limit", () => {
  it.each([65, 5_000, 100_000])("data %i levels deep is skipped, the rest read", async (levels) => {
    const entry = (id: string) => JSON.stringify({ v: RECORD_FORMAT, ...rec(id) });
    localStorage.setItem("sessionmanager:app:good", entry("good"));
    localStorage.setItem(
      "sessionmanager:app:deep",
      entry("deep").replace('{"n":1}', nestedJson(levels)),
    );
    const sm = new SessionManager({ backend: "localStorage", namespace: "app" });
    const errors = errorsOf(sm);
    await sm.ready;
    expect(sm.status).toBe("ready");
    expect(await sm.get("deep")).toBeUndefined();
    expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toBeInstanceOf(BackendError);
      expect(error.message).toMatch(
        /^skipped the stored record localStorage sessionmanager:app:deep: its data nests deeper than 64 levels$/,
      );
    }
    await sm.add("new", { data: { ok: true } });
    expect((await sm.get("new"))?.data).toEqual({ ok: true });
    await sm.close();
  });
});
