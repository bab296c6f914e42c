import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deadlineQueue } from "../src/queue.ts";

describe("DeadlineQueue", () => {
  it("pops keys in deadline order after any mix of set, move and delete", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("set" as const),
        key: fc.integer({ min: 0, max: 30 }),
        at: fc.integer({ min: 0, max: 1000 }),
      }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("pop" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const queue = deadlineQueue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            queue.set(`k${o.key}`, o.at);
            model.set(`k${o.key}`, o.at);
          } else if (o.kind === "delete") {
            expect(queue.current.delete(`k${o.key}`)).toBe(model.delete(`k${o.key}`));
          } else {
            const min = Math.min(...model.values());
            const key = queue.first();
            if (key !== undefined) queue.current.delete(key);
            if (model.size === 0) expect(key).toBeUndefined();
            else {
              expect(model.get(key as string)).toBe(min);
              model.delete(key as string);
            }
          }
          expect(queue.current.size).toBe(model.size);
          expect(queue.peek()).toBe(
            model.size ? Math.min(...model.values()) : Number.POSITIVE_INFINITY,
          );
        }
        for (const [key, at] of model) expect(queue.current.get(key)).toBe(at);
      }),
    );
  });

  it("grows past its first capacity", () => {
    const queue = deadlineQueue();
    for (let i = 1000; i > 0; i--) queue.set(`k${i}`, i);
    const order: number[] = [];
    for (
      let key = queue.first();
      key !== undefined && queue.current.delete(key);
      key = queue.first()
    )
      order.push(Number(key.slice(1)));
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });
});

describe("DeadlineQueue under many moves", () => {
  it("stays correct when entries left behind force a rebuild", () => {
    const queue = deadlineQueue();
    for (let i = 0; i < 10; i++) queue.set(`k${i}`, 100_000 + i);
    // Earlier deadlines, again and again: each leaves an entry behind, until the heap is rebuilt.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 10; i++) queue.set(`k${i}`, 90_000 - round * 10 - i);
    }
    queue.current.delete("k0");
    expect(queue.current.size).toBe(9);
    const order: string[] = [];
    for (let key = queue.first(); key !== undefined; key = queue.first()) {
      order.push(key);
      queue.current.delete(key);
    }
    expect(order).toEqual(["k9", "k8", "k7", "k6", "k5", "k4", "k3", "k2", "k1"]);
    expect(queue.peek()).toBe(Number.POSITIVE_INFINITY);
  });

  it("moves a key to a later deadline without a second entry", () => {
    const queue = deadlineQueue();
    queue.set("a", 10);
    queue.set("b", 20);
    for (let t = 30; t < 1000; t += 10) queue.set("a", t); // touched 97 times
    expect(queue.first()).toBe("b");
    expect(queue.peek()).toBe(20);
    queue.current.delete("b");
    expect(queue.first()).toBe("a");
    expect(queue.peek()).toBe(990);
  });
});
