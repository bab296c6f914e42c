import { afterAll } from "vitest";
import { remoteStore } from "../../src/sync/remote.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor } from "../helpers/sync-server.ts";
import { testStore } from "../stores/conformance.ts";

const { server, fetch } = inProcessServer();
afterAll(() => server.close());

// One owner (the token's `sub`) per namespace: owners never see each other's sessions.
testStore({
  name: "remote",
  serverAssigned: true,
  create: (namespace) =>
    remoteStore({ url: IN_PROCESS_URL, token: () => tokenFor(namespace), fetch }),
});
