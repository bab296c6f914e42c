// A CommonJS user's script: SQLite by name, one session added and read, and its warning heard.
const { SessionManager } = require("sessionmanager-js");

async function main(path) {
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

  const added = await manager.add("user-cjs", { data: { via: "cjs" }, ttl: "600ms" });
  const read = await manager.get("user-cjs");
  const status = manager.status;
  const warning = await Promise.race([warned, timeout]);
  clearTimeout(timer);
  await manager.close();
  const result = { added: added.id, read: read?.data ?? null, status, warning, errors };
  console.log(JSON.stringify(result));
}

main(process.argv[2]);
