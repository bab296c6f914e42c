// Names each module of the API reference by the path users import it by
// ("sessionmanager-js/stores/memory"), from scripts/entries.mjs, instead of TypeDoc's name
// from the source path ("stores/memory/index", "sync" for the remote entry).
import { relative, resolve } from "node:path";
import { Converter, ReflectionKind } from "typedoc";
import pkg from "../package.json" with { type: "json" };
import { entries } from "../scripts/entries.mjs";

/** @param {import("typedoc").Application} app */
export function load(app) {
  const root = resolve(import.meta.dirname, "..");
  const bySource = new Map(
    entries
      .filter((entry) => entry.export)
      .map((entry) => [
        entry.src,
        entry.export === "." ? pkg.name : `${pkg.name}/${entry.export.slice(2)}`,
      ]),
  );
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = reflection.sources?.[0]?.fullFileName;
    const name = file && bySource.get(relative(root, file).replaceAll("\\", "/"));
    if (name) reflection.name = name;
  });
}
