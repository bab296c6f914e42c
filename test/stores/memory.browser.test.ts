// The shared store contract, run in a real Chromium page: the memory store and the manager on top
// of it behave there exactly as in Node.
import { memorySpace, memoryStore } from "../../src/stores/memory.ts";
import { testStore } from "./conformance.ts";

testStore({ name: "memory (browser)", create: () => memoryStore() });
const space = memorySpace();
const onSpace = (namespace: string) => memoryStore({ space, namespace });
testStore({ name: "memory (browser, one space)", create: onSpace, twin: onSpace });
