// The PostgreSQL store's change log against a real server: the change-log conformance suite
// (twins with pools of their own, as two processes), then what only LISTEN/NOTIFY and a shared
// table have to get right. One table per run, dropped at the end with its log's tables.
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { postgresStore } from "../../src/stores/postgres.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type {
  ChangeEntry,
  ChangeLogOptions,
  ResyncSignal,
  SessionPartition,
  SessionStore,
} from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { requireService, runId, services } from "../helpers/services.ts";
import { testChangeLog } from "./change-log.ts";

const up = await requireService("postgres");
const { url } = services.postgres;
const run = runId();
const table = `sml_${run}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });

afterAll(async () => {
  if (up) {
    for (const suffix of ["", "_changes", "_changes_floor"]) {
      await admin.query(`DROP TABLE IF EXISTS "${table}${suffix}"`);
    }
  }
  await admin.end();
});

describe.skipIf(!up)("postgres change log", () => {
  const create = (namespace: string, changeLog?: ChangeLogOptions) =>
    postgresStore({ url, table, namespace: `${run}:${namespace}`, ...(changeLog && { changeLog }) });
  testChangeLog({ name: "postgres", create, twin: create });
});
