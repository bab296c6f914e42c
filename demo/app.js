// The demo page: plain JavaScript on the script-tag bundle (the global `sessionmanager`).
const { SessionManager, createSessionId } = window.sessionmanager;

// Sessions live in localStorage (so the page works offline and across tabs) and sync with the
// demo's server: open the page in another browser and the same sessions show up there. Changes
// made elsewhere arrive at once over the server's event stream (`remote.live`, on by default);
// polling every `pullInterval` is only the fallback.
const sm = new SessionManager({
  backend: "localStorage",
  namespace: "demo",
  warnBefore: "10s", // WARN_MS below
  remote: {
    url: `${location.origin}/api`,
    token: () => fetch("/token").then((response) => response.text()),
    pullInterval: "5m",
  },
});

const WARN_MS = 10_000;
const $ = (id) => document.getElementById(id);
const rows = $("sessions");
let warned = null; // the session the banner is about

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $("log").prepend(item);
}

async function render() {
  const sessions = await sm.list();
  rows.replaceChildren(
    ...sessions.map((s) => {
      const row = document.createElement("tr");
      row.dataset.id = s.id;
      row.innerHTML = `<td><code></code></td><td></td><td class="countdown"></td><td></td>
        <td><button type="button" data-action="touch">Stay signed in</button>
        <button type="button" data-action="remove">Sign out</button></td>`;
      row.cells[0].firstChild.textContent = `${s.id.slice(0, 8)}…`;
      row.cells[1].textContent = s.data?.user ?? "";
      row.cells[2].dataset.expiresAt = String(s.expiresAt);
      row.cells[3].textContent = String(s.version);
      return row;
    }),
  );
  $("empty").hidden = sessions.length > 0;
  tick();
}

// The countdown reads each row's expiresAt; the manager's events re-render the rows.
function tick() {
  for (const cell of rows.querySelectorAll("td.countdown")) {
    const left = Math.max(0, Number(cell.dataset.expiresAt) - Date.now());
    cell.textContent = `${(left / 1000).toFixed(1)} s`;
  }
}
setInterval(tick, 100);

function showBanner(session, msLeft) {
  warned = session.id;
  $("banner-text").textContent =
    `${session.data?.user ?? "Your"} session ends in ${Math.ceil(msLeft / 1000)} s.`;
  $("banner").hidden = false;
}
function hideBanner(id) {
  if (id === undefined || id === warned) {
    $("banner").hidden = true;
    warned = null;
  }
}

// Activity tracking: while the box is ticked, activity on this page keeps every live session
// alive. `trackActivity` writes at most once per throttle window, counted across all tabs, so
// ticking it in several tabs does not multiply the writes; it never revives an ended session.
const tracking = new Map(); // session id → stop()
async function track() {
  if (!$("activity").checked) {
    for (const stop of tracking.values()) stop();
    tracking.clear();
    return;
  }
  for (const s of await sm.list()) {
    if (!tracking.has(s.id)) tracking.set(s.id, sm.trackActivity(s.id, { throttle: "2s" }));
  }
}
function untrack(id) {
  tracking.get(id)?.();
  tracking.delete(id);
}
$("activity").addEventListener("change", track);

sm.on("added", (s) => {
  log(`added ${s.data?.user}`);
  render();
  track();
});
sm.on("touched", (s) => {
  log(`touched ${s.data?.user}: stays signed in`);
  // The warning goes once the session has more time left than the warning's window (a touch
  // that leaves it inside, as with a very short ttl, is warned again at once anyway).
  if (s.expiresAt - Date.now() > WARN_MS) hideBanner(s.id);
  render();
});
sm.on("removed", (s) => {
  untrack(s.id);
  log(`removed ${s.data?.user}: signed out`);
  hideBanner(s.id);
  render();
});
sm.onExpiringSoon((s, msLeft) => {
  log(`expiringSoon ${s.data?.user}: ${Math.round(msLeft / 1000)} s left`);
  showBanner(s, msLeft);
});
sm.onExpired((s) => {
  untrack(s.id);
  log(`expired ${s.data?.user}`);
  hideBanner(s.id);
  render();
});
sm.on("degraded", (reason) => log(`degraded: ${reason.message}`));
sm.on("synced", () => {
  $("synced").textContent = `synced with the server at ${new Date().toLocaleTimeString()}`;
});
sm.on("error", (error) => log(`error: ${error.message}`));

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ttl = Number($("ttl").value) * 1000;
  await sm.add(createSessionId(), { data: { user: $("user").value }, ttl });
});
$("stay").addEventListener("click", () => warned && sm.touch(warned));
rows.addEventListener("click", (event) => {
  const action = event.target.dataset?.action;
  const id = event.target.closest("tr")?.dataset.id;
  if (action === "touch") sm.touch(id);
  if (action === "remove") sm.remove(id);
});

sm.ready.then(() => {
  $("status").textContent =
    sm.status === "degraded" ? "memory (storage unavailable)" : "localStorage + server";
  $("status").className = sm.status;
  render();
});
