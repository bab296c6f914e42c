// The browser tests in Firefox ESR: see engines.ts.
import { engineTests } from "./engines.ts";

await engineTests("firefox");
