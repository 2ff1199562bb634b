// Following the event's live programme over the websocket hub: a snapshot, then changes in
// order. A gap in versions asks for a fresh snapshot; a lost connection (a server restart)
// reconnects by itself with a growing pause, and starts again from a snapshot.

/** Follow `slug`'s programme; `onState(state, change)` runs after every snapshot or change.
 * `onStatus(text)` hears "live", "reconnecting". Returns { state(), resync() }. */
export function followProgramme(slug, { onState, onStatus = () => {} }) {
  let state = null;
  let socket = null;
  let pause = 500;
  let watchdog = null;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/events/${encodeURIComponent(slug)}/programme`;

  function alive() {
    // Heartbeats come every 20 s: silence for much longer means a dead connection.
    clearTimeout(watchdog);
    watchdog = setTimeout(() => socket && socket.close(), 45000);
  }

  function resync() {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "resync" }));
  }

  function apply(message) {
    if (message.type === "snapshot") {
      state = { ...message, offset: Date.parse(message.server_time) - Date.now() };
      onState(state, null);
      return;
    }
    if (message.type === "heartbeat") {
      if (state) state.offset = Date.parse(message.server_time) - Date.now();
      return;
    }
    if (message.type !== "change" || !state) return;
    if (message.version !== state.version + 1) {
      if (message.version > state.version) resync(); // a gap: what we hold is not whole
      return;
    }
    state.version = message.version;
    if (message.released) state.released = message.released;
    if (!message.items) {
      resync(); // a change to the whole programme: take it whole
      return;
    }
    const others = state.items.filter((item) => !(item.stage_id === message.stage_id && item.day === message.day));
    state.items = [...others, ...message.items].sort((a, b) =>
      a.day.localeCompare(b.day) || a.stage_id - b.stage_id || a.position - b.position);
    state.current = state.items.filter((item) => item.status === "running")
      .map((item) => ({ stage_id: item.stage_id, day: item.day, item_id: item.id }));
    onState(state, message);
  }

  function open() {
    socket = new WebSocket(url);
    socket.addEventListener("open", () => { pause = 500; onStatus("live"); alive(); });
    socket.addEventListener("message", (event) => { alive(); apply(JSON.parse(event.data)); });
    socket.addEventListener("close", () => {
      clearTimeout(watchdog);
      onStatus("reconnecting");
      setTimeout(open, pause);
      pause = Math.min(pause * 2, 10000);
    });
  }

  open();
  return { state: () => state, resync };
}

/** Follow a hub topic whose messages are each whole (a person's meetings): `onMessage(message)`
 * hears the snapshot on every (re)connection and each change; reconnects by itself. */
export function followTopic(path, onMessage) {
  let pause = 500;
  let watchdog = null;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  function open() {
    const socket = new WebSocket(url);
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => socket.close(), 45000); // heartbeats come every 20 s
    };
    socket.addEventListener("open", () => { pause = 500; alive(); });
    socket.addEventListener("message", (event) => {
      alive();
      const message = JSON.parse(event.data);
      if (message.type === "snapshot" || message.type === "change") onMessage(message);
    });
    socket.addEventListener("close", () => {
      clearTimeout(watchdog);
      setTimeout(open, pause);
      pause = Math.min(pause * 2, 10000);
    });
  }
  open();
}

/** The server's clock now, as the last message told it. */
export function serverNow(state) {
  return new Date(Date.now() + (state ? state.offset : 0));
}

/** The stage-day a screen should show: where something runs, else today's, else the first. */
export function pickDay(state, stageId, now) {
  const running = state.current.find((c) => c.stage_id === stageId);
  if (running) return running.day;
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: state.timezone }).format(now);
  const days = [...new Set(state.items.filter((i) => i.stage_id === stageId).map((i) => i.day))].sort();
  return days.find((day) => day === today) || days.find((day) => day > today) || days[0] || today;
}

export function timeFormat(timeZone) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone });
}

export function countryName(code) {
  try {
    return new Intl.DisplayNames(["en"], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

/** Minutes the stage runs late: the next item's projected start against its plan. */
export function lateness(items) {
  const next = items.find((item) => item.status === "planned" && item.projected_start);
  if (!next) return 0;
  return Math.round((Date.parse(next.projected_start) - Date.parse(next.planned_start)) / 60000);
}
