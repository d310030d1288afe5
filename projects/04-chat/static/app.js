// The chat's web client: plain JavaScript, no build step, nothing from a CDN.
// It speaks the same protocol as `chat connect` (see /protocol.json):
// 1. sign in (POST /api/login) or pick a guest name;
// 2. trade the token for a single-use ticket (POST /api/ws-ticket) and open /ws?ticket=…;
// 3. join a room with the last seq it has seen, so a reconnect replays exactly what it missed;
// 4. on a lost connection, reconnect with exponential backoff and jitter.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  auth: JSON.parse(localStorage.getItem("chat-auth") || "null"), // {token, refreshToken} or {guest}
  // Only a valid room name from the URL: it becomes part of API paths.
  room: /^[a-z0-9-]{1,32}$/.test(location.hash.slice(1)) ? location.hash.slice(1) : "general",
  lastSeq: {},        // room → highest seq shown
  oldest: {},         // room → lowest seq shown (for "load older")
  socket: null,
  backoff: 500,
  typingAt: 0,
  typists: new Map(), // name → timer
  pending: new Map(), // clientId → {room, text}, until acknowledged
  readSent: 0,        // when the last read receipt went out
  readTimer: null,
};

async function api(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data };
}

// An access token lives 15 minutes: refresh it when a call says 401.
async function authed(method, path, body) {
  let r = await api(method, path, body, state.auth.token);
  if (r.status === 401 && state.auth.refreshToken) {
    const refreshed = await api("POST", "/api/refresh", { refreshToken: state.auth.refreshToken });
    if (refreshed.status !== 200) return r;
    saveAuth({ token: refreshed.data.token, refreshToken: refreshed.data.refreshToken });
    r = await api(method, path, body, state.auth.token);
  }
  return r;
}

function saveAuth(auth) {
  state.auth = auth;
  if (auth) localStorage.setItem("chat-auth", JSON.stringify(auth));
  else localStorage.removeItem("chat-auth");
}

function showError(message) { $("signin-error").textContent = message; }

async function signIn(path, body) {
  const r = await api("POST", path, body);
  if (r.status !== 200 && r.status !== 201) {
    showError(r.data.message || `Failed (${r.status})`);
    return;
  }
  saveAuth({ token: r.data.token, refreshToken: r.data.refreshToken });
  start();
}

$("guest-form").addEventListener("submit", (e) => {
  e.preventDefault();
  saveAuth({ guest: $("guest-name").value.trim() });
  start();
});
$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  signIn("/api/login", { email: $("email").value, password: $("password").value });
});
$("register").addEventListener("click", () => {
  const email = $("email").value;
  signIn("/api/register", { name: email.split("@")[0], email, password: $("password").value });
});
$("signout").addEventListener("click", () => {
  if (state.auth && state.auth.refreshToken) api("POST", "/api/logout", { refreshToken: state.auth.refreshToken });
  saveAuth(null);
  if (state.socket) state.socket.close(1000);
  location.hash = "";
  location.reload();
});

async function start() {
  $("signin").hidden = true;
  $("chat").hidden = false;
  $("new-room").hidden = !!state.auth.guest;
  $("older").hidden = !!state.auth.guest;
  $("me").textContent = state.auth.guest ? `Guest: ${state.auth.guest}` : "Signed in";
  await loadRooms();
  connect();
}

// Every room, a page at a time: the server sends 100 and names the next page in `Link`.
async function allRooms() {
  const rooms = [];
  let path = "/api/rooms";
  while (path) {
    const response = await fetch(path);
    if (!response.ok) break;
    rooms.push(...(await response.json()));
    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
    path = next ? next[1] : null;
  }
  return rooms;
}

async function loadRooms() {
  const rooms = await allRooms();
  const list = $("rooms");
  list.replaceChildren();
  for (const room of rooms) {
    const li = document.createElement("li");
    li.dataset.room = room.name;
    li.append(`#${room.name} `);
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = room.online ? `(${room.online})` : "";
    li.append(count);
    li.className = room.name === state.room ? "active" : "";
    li.addEventListener("click", () => switchRoom(room.name));
    list.append(li);
    // Show the last 50 messages of a room on first join (replayed by the server).
    if (!(room.name in state.lastSeq)) state.lastSeq[room.name] = Math.max(0, room.lastSeq - 50);
  }
  return rooms;
}

async function connect() {
  setStatus("connecting…");
  let query;
  if (state.auth.guest) {
    query = `guest=${encodeURIComponent(state.auth.guest)}`;
  } else {
    const r = await authed("POST", "/api/ws-ticket");
    if (r.status !== 201) {
      saveAuth(null);
      location.reload();
      return;
    }
    query = `ticket=${encodeURIComponent(r.data.ticket)}`;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${query}`);
  state.socket = socket;
  socket.onopen = () => {
    state.backoff = 500;
    setStatus("connected");
    join(state.room);
    // Lines typed while disconnected, or never acknowledged: sent again with the same
    // clientId, so the server stores each once.
    for (const [clientId, { room, text }] of state.pending) send({ type: "send", room, text, clientId });
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    if (event.code === 1000) return setStatus("disconnected");
    // Exponential backoff with jitter: a restarted server is not met by every client at once.
    const wait = state.backoff + Math.random() * state.backoff;
    state.backoff = Math.min(state.backoff * 2, 30000);
    setStatus(`connection lost (${event.code}); reconnecting in ${(wait / 1000).toFixed(1)} s`);
    setTimeout(connect, wait);
  };
}

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function join(room) {
  const lastSeq = state.lastSeq[room];
  send(lastSeq === undefined ? { type: "join", room } : { type: "join", room, lastSeq });
}

function switchRoom(room) {
  if (room === state.room) return;
  send({ type: "leave", room: state.room });
  state.room = room;
  location.hash = room;
  $("messages").replaceChildren();
  delete state.oldest[room];
  delete state.lastSeq[room];
  loadRooms().then(() => join(room));
}

function setStatus(text) { $("status").textContent = text; }

function handle(frame) {
  switch (frame.type) {
    case "joined":
      $("room-name").textContent = `#${frame.room}`;
      renderOnline(frame.online);
      if (state.lastSeq[frame.room] === undefined) state.lastSeq[frame.room] = frame.lastSeq;
      break;
    case "message":
      if (frame.room !== state.room || frame.seq <= (state.lastSeq[frame.room] ?? 0) && byseq(frame.seq)) return;
      showMessage(frame, false);
      state.lastSeq[frame.room] = Math.max(state.lastSeq[frame.room] ?? 0, frame.seq);
      markRead();
      break;
    case "ack":
      state.pending.delete(frame.clientId);
      break;
    case "edited": {
      const li = byseq(frame.seq);
      if (li) li.replaceWith(messageItem(frame));
      break;
    }
    case "deleted": {
      const li = byseq(frame.seq);
      if (li) li.replaceWith(messageItem({ ...(li.message || {}), seq: frame.seq, deleted: true, text: "" }));
      break;
    }
    case "presence":
      if (frame.room !== state.room) return;
      notice(`${frame.name} ${frame.status === "online" ? "joined" : "left"}`);
      updateOnline(frame.name, frame.status === "online");
      break;
    case "typing":
      showTyping(frame.name);
      break;
    case "gap":
      notice(`Messages ${frame.from}–${frame.to} were missed: use "Load older messages".`);
      break;
    case "error":
      notice(`Error: ${frame.message}`);
      if (frame.clientId) state.pending.delete(frame.clientId);
      break;
  }
}

// One read receipt for the newest message, at most every 2 s: not one per message.
function markRead() {
  if (document.visibilityState !== "visible" || state.readTimer) return;
  const wait = Math.max(0, 2000 - (Date.now() - state.readSent));
  state.readTimer = setTimeout(() => {
    state.readTimer = null;
    state.readSent = Date.now();
    const seq = state.lastSeq[state.room];
    if (seq) send({ type: "read", room: state.room, seq });
  }, wait);
}

function byseq(seq) { return $("messages").querySelector(`li[data-seq="${seq}"]`); }

function messageItem(m) {
  const li = document.createElement("li");
  li.dataset.seq = m.seq;
  li.message = m;
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = m.from;
  const text = document.createElement("span");
  // textContent, never innerHTML: a message is untrusted input.
  text.textContent = m.deleted ? "(deleted)" : m.text;
  if (m.deleted) text.className = "deleted";
  li.append(from, text);
  if (m.editedAt && !m.deleted) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(edited)";
    li.append(edited);
  }
  return li;
}

function showMessage(m, older) {
  if (byseq(m.seq)) return;
  const list = $("messages");
  const li = messageItem(m);
  // Keep seq order whatever arrives first (history pages come in above).
  const after = [...list.querySelectorAll("li[data-seq]")].find((x) => Number(x.dataset.seq) > m.seq);
  list.insertBefore(li, after || null);
  state.oldest[m.room] = Math.min(state.oldest[m.room] ?? Infinity, m.seq);
  if (!older) list.scrollTop = list.scrollHeight;
}

function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.textContent = text;
  $("messages").append(li);
}

function renderOnline(names) {
  $("online").replaceChildren(...names.map((n) => Object.assign(document.createElement("li"), { textContent: n })));
}

function updateOnline(name, online) {
  const names = [...$("online").children].map((li) => li.textContent).filter((n) => n !== name);
  if (online) names.push(name);
  renderOnline(names.sort());
}

function showTyping(name) {
  clearTimeout(state.typists.get(name));
  state.typists.set(name, setTimeout(() => { state.typists.delete(name); renderTyping(); }, 3000));
  renderTyping();
}

function renderTyping() {
  const names = [...state.typists.keys()];
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…` : "";
}

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  const clientId = crypto.randomUUID();
  state.pending.set(clientId, { room: state.room, text });
  send({ type: "send", room: state.room, text, clientId });
  $("text").value = "";
});

$("text").addEventListener("input", () => {
  if (Date.now() - state.typingAt > 1000) {
    state.typingAt = Date.now();
    send({ type: "typing", room: state.room });
  }
});

$("older").addEventListener("click", async () => {
  const before = state.oldest[state.room];
  const query = before ? `?before=${before}&limit=50` : "?limit=50";
  const r = await authed("GET", `/api/rooms/${state.room}/messages${query}`);
  if (r.status !== 200) return notice(`Could not load older messages (${r.status})`);
  for (const m of r.data.messages) showMessage(m, true);
  if (!r.data.messages.length) $("older").disabled = true;
});

$("new-room").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("new-room-name").value;
  const r = await authed("POST", "/api/rooms", { name });
  if (r.status !== 201) return notice(r.data.message || (r.data.errors && r.data.errors.name) || `Failed (${r.status})`);
  $("new-room-name").value = "";
  switchRoom(name);
});

if (state.auth) start();
