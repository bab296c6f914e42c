// A Node user's script: SQLite by name, one session added and read, and its warning heard.
import { SessionManager } from "sessionmanager-js";

const [path] = process.argv.slice(2);
const manager = new SessionManager({ backend: "sqlite", path, warnBefore: "300ms" });
const errors = [];
manager.on("error", (error) => errors.push(String(error?.stack ?? error)));
const warned = new Promise((resolve) => {
  manager.onExpiringSoon((session, msLeft) => resolve({ id: session.id, msLeft }));
});
// The manager's timer is unref'd: this one keeps the process alive until the warning or 5 s.
let timer;
const timeout = new Promise((resolve) => {
  timer = setTimeout(() => resolve(null), 5000);
});

const added = await manager.add("user-esm", { data: { via: "esm" }, ttl: "600ms" });
const read = await manager.get("user-esm");
const status = manager.status;
const warning = await Promise.race([warned, timeout]);
clearTimeout(timer);
await manager.close();
console.log(JSON.stringify({ added: added.id, read: read?.data ?? null, status, warning, errors }));
