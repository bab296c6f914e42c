import { describe, expect, it } from "vitest";
import { memoryStore } from "../../src/stores/memory.ts";
import { testStore } from "./conformance.ts";

testStore({ name: "memory", create: () => memoryStore() });

describe("memory store", () => {
  it("answers synchronously, so reads cost no extra promise", () => {
    const store = memoryStore();
    const record = {
      id: "a",
      data: null,
      createdAt: 1,
      updatedAt: 1,
      expiresAt: 2,
      ttl: 1,
      version: 1,
    };
    expect(store.set(record)).toBe(true);
    expect(store.get("a")).toBe(record);
  });
});
