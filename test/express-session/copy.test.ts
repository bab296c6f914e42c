// The copy express-session gets of a session's data: deep, mutable, and the same as JSON's round
// trip of the manager's frozen data (a "__proto__" key stays a key).
import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../src/data.ts";
import { copyOut } from "../../src/express-session/copy.ts";

describe("copyOut", () => {
  it("copies frozen JSON data deeply into objects the app may change", () => {
    const stored = deepFreeze(
      JSON.parse(
        '{"cookie":{"originalMaxAge":1000,"expires":"2030-01-01T00:00:00.000Z","path":"/"},' +
          '"user":{"name":"ada","roles":["a",{"b":[1,null,true]}]},"__proto__":{"x":1},"n":null}',
      ),
    ) as Record<string, unknown>;
    const copy = copyOut(stored) as {
      cookie: unknown;
      user: { name: string; roles: [string, { b: unknown[] }, ...string[]] };
    };
    expect(copy).toEqual(JSON.parse(JSON.stringify(stored)));
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(Object.keys(stored));
    expect(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value).toEqual({ x: 1 });
    copy.cookie = { replaced: true };
    copy.user.name = "grace";
    copy.user.roles.push("c");
    copy.user.roles[1].b[0] = 2;
    expect(stored).toEqual(JSON.parse(JSON.stringify(stored)));
    expect((stored.user as { name: string }).name).toBe("ada");
    expect(copyOut(null)).toBeNull();
  });
});
