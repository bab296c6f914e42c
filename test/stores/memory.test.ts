import { describe, expect, it } from "vitest";
import { memorySpace, memoryStore } from "../../src/stores/memory.ts";
import { testStore } from "./conformance.ts";

testStore({ name: "memory", create: () => memoryStore() });
// Alone, each memory store is its own namespace, so the namespace tests prove nothing above. On
// one shared space they do: a twin of a namespace holds its records, other namespaces do not.
const space = memorySpace();
const onSpace = (namespace: string) => memoryStore({ space, namespace });
testStore({ name: "memory (one space)", create: onSpace, twin: onSpace });

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
