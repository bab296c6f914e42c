// The browser tests in WebKitGTK (MiniBrowser): see engines.ts.
import { engineTests } from "./engines.ts";

await engineTests("webkit");
