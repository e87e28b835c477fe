// Live parts of the pages. Everything that comes from the server is put on the page as text (textContent),
// never as HTML: agent output and file names are written by whoever controls the sandbox.

const session = document.querySelector("section.session[data-session]");
if (session) follow(session);
const inbox = document.querySelector("section.inbox[data-live]");
if (inbox) followInbox(inbox);
if (document.querySelector("section.replay")) stepWithArrowKeys();

// A replay moves a step with the arrow keys, unless the person is in a field.
function stepWithArrowKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.altKey || event.ctrlKey || event.metaKey) return;
    const link = document.querySelector(`.stepper a[data-key="${event.key}"]`);
    if (link) location.assign(link.href);
  });
}

// The inbox reads its list again when a request opens or is answered anywhere, unless the person is typing
// a note (their text would be lost).
function followInbox(section) {
  const source = new EventSource(section.dataset.live);
  source.addEventListener("changed", () => {
    const typing = [...section.querySelectorAll("input[type=text]")].some((input) => input.value !== "");
    if (!typing) location.reload();
  });
}

function follow(section) {
  const id = section.dataset.session;
  const timeline = document.getElementById("timeline");
  const seen = new Set([...timeline.querySelectorAll("li[data-id]")].map((li) => li.dataset.id));
  let since = section.dataset.since;
  const source = new EventSource(`/sessions/${encodeURIComponent(id)}/live?since=${encodeURIComponent(since)}`);
  source.addEventListener("item", (message) => {
    const item = JSON.parse(message.data);
    if (seen.has(item.id)) return;
    seen.add(item.id);
    document.getElementById("timeline-empty")?.remove();
    const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    timeline.append(render(item));
    if (nearBottom) window.scrollTo(0, document.body.scrollHeight);
  });
  source.addEventListener("meters", (message) => {
    const meters = JSON.parse(message.data);
    for (const el of section.querySelectorAll("[data-meter]")) {
      const value = meters[el.dataset.meter];
      if (value === undefined) continue;
      if (el.tagName === "METER") el.value = value;
      else el.textContent = value;
    }
  });
  source.addEventListener("run", (message) => {
    const run = JSON.parse(message.data);
    const line = section.querySelector(".run");
    if (!line) return;
    for (const field of ["statusText", "tokens", "cost"]) {
      const el = line.querySelector(`[data-field="${field}"]`);
      if (el) el.textContent = run[field];
    }
    if (!run.going) section.querySelector("form[action$='/stop']")?.remove();
  });
}

function render(item) {
  const li = document.createElement("li");
  li.className = `item item-${item.kind.replace(/[^a-z-]/g, "")}`;
  li.dataset.id = item.id;
  const time = document.createElement("time");
  time.textContent = new Date(item.at).toISOString().slice(11, 19);
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = item.title;
  li.append(time, " ", what);
  if (item.actor) {
    const actor = document.createElement("span");
    actor.className = "actor";
    actor.textContent = item.actor;
    li.append(" ", actor);
  }
  if (item.detail) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Details";
    const pre = document.createElement("pre");
    pre.textContent = item.detail;
    details.append(summary, pre);
    li.append(details);
  }
  return li;
}
