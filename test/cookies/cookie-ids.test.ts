// Finding a request's id without doing the work again: a Cookie header whose id verified is
// remembered (a forged one never is), and whether an origin is loopback http is remembered by
// what decides it, answering as isLoopbackHttp does.
import { describe, expect, it, vi } from "vitest";
import { isLoopbackHttp, isLoopbackRequest } from "../../src/cookies/cookie.ts";
import { cookieIds } from "../../src/cookies/cookie-ids.ts";
import { createSigner } from "../../src/cookies/signing.ts";
import { SECRET } from "./helpers.ts";

const ID = "abcdefghijklmnopqrstuv";

describe("cookieIds", () => {
  it("reads a header's id once, then answers it from memory while the header stays the same", async () => {
    const signer = createSigner(SECRET);
    const value = await signer.sign(ID);
    const header = `other=1; sid=${encodeURIComponent(value)}`;
    const verify = vi.spyOn(signer, "verify");
    const verified = vi.spyOn(signer, "verified");
    const idOf = cookieIds(signer);
    expect(await idOf(header, "sid")).toEqual({ value, id: ID });
    const calls = verify.mock.calls.length + verified.mock.calls.length;
    for (let i = 0; i < 3; i++) expect(idOf(header, "sid")).toEqual({ value, id: ID });
    expect(verify.mock.calls.length + verified.mock.calls.length).toBe(calls);
    // Another name in the same header is another question.
    expect(await idOf(header, "__Host-sid")).toEqual({ value: undefined, id: undefined });
  });

  it("checks a forged value, or one in a very long header, on every request; none without the cookie", async () => {
    const signer = createSigner(SECRET);
    const forged = `${ID}.${"A".repeat(43)}=`;
    const verify = vi.spyOn(signer, "verify");
    const verified = vi.spyOn(signer, "verified");
    const idOf = cookieIds(signer);
    const header = `sid=${encodeURIComponent(forged)}`;
    for (let i = 1; i <= 3; i++) {
      expect(await idOf(header, "sid")).toEqual({ value: forged, id: undefined });
      expect(verify).toHaveBeenCalledTimes(i);
    }
    expect(await idOf("a=b", "sid")).toEqual({ value: undefined, id: undefined });
    // A very long header is not remembered, even with a valid cookie in it.
    const value = await signer.sign(ID);
    const long = `pad=${"x".repeat(5000)}; sid=${encodeURIComponent(value)}`;
    const asked = () => verify.mock.calls.length + verified.mock.calls.length;
    for (let i = 0; i < 2; i++) {
      const before = asked();
      expect(await idOf(long, "sid")).toEqual({ value, id: ID });
      expect(asked()).toBeGreaterThan(before);
    }
    expect(await idOf(undefined, "sid")).toEqual({ value: undefined, id: undefined });
  });
});

describe("isLoopbackRequest", () => {
  it("answers as isLoopbackHttp, also when asked again and for tricky URLs", () => {
    const cases = [
      ["http://localhost:3000/me", undefined],
      ["http://localhost:3000/me?x=1", "example.com"],
      ["http://localhost?x", undefined],
      ["http://localhost#f", undefined],
      ["http://localhost\\@evil.example/", undefined],
      ["http://evil.example\\@localhost/", undefined],
      ["http://user@localhost/", undefined],
      ["http://localhost.evil.example/", undefined],
      ["https://localhost/", undefined],
      ["HTTP://127.0.0.1/", undefined],
      ["http://[::1]:8080/", undefined],
      ["/me", "localhost:5173"],
      ["/me", "example.com"],
      [undefined, "127.0.0.1:80"],
      ["/", undefined],
      ["/", "bad host"],
    ] as const;
    for (let round = 0; round < 2; round++) {
      for (const [url, host] of cases) {
        expect(isLoopbackRequest(url, host), `${url} ${host}`).toBe(isLoopbackHttp(url, host));
      }
    }
    expect(isLoopbackRequest("http://localhost:3000/a", undefined)).toBe(true);
    expect(isLoopbackRequest("http://example.com/a", "localhost")).toBe(false);
  });
});
