// The door scanner: a keyboard-wedge or camera scan, a big green or red answer with a sound,
// search for people without their code, and an offline mode that checks signatures here and
// uploads the scans later.
import { api, explain, show, whoAmI } from "./api.js";
import { revocationDigest, verifySecret } from "./ticketcheck.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const QUEUE_KEY = `eventapp-scan-queue:${slug}`;
const OFFLINE_KEY = `eventapp-scan-offline:${slug}`;
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

const REASONS = {
  already_redeemed: "Already checked in",
  revoked: "Replaced by a newer ticket",
  blocked: "Ticket blocked",
  canceled: "Ticket canceled",
  invalid_time: "Not valid at this time",
  product: "Ticket type not valid here",
  rules: "Not allowed here (exit not scanned here, or not inside)",
  invalid: "Not a ticket of this event",
};

// What each refusal means, in a sentence (the server sends the same as `detail`).
const DETAILS = {
  already_redeemed: "This ticket has already been used here.",
  revoked: "This ticket was replaced by a newer one.",
  blocked: "This ticket is blocked.",
  canceled: "This ticket was canceled.",
  invalid_time: "This list does not admit anyone at this time.",
  product: "This ticket type is not valid on this list.",
  rules: "This list does not allow this scan (exit not scanned here, or not inside).",
  invalid: "This is not a ticket of this event.",
};

let lists = [];
let offlineData = null; // {publicKey, revoked: Set, lists}
const seenOffline = new Set(); // `${list}:${secret}` admitted on this device while offline

// ---------------------------------------------------------------------------------------------
// The answer: colour, words, sound

let audio;
function beep(ok) {
  try {
    audio = audio || new AudioContext();
    const notes = ok ? [[880, 0, 0.15]] : [[220, 0, 0.18], [220, 0.25, 0.18]];
    for (const [frequency, start, length] of notes) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(audio.currentTime + start);
      oscillator.stop(audio.currentTime + start + length);
    }
  } catch {
    // No sound on this device: the colour and words still say it.
  }
}

function answer(ok, verdict, name, detail) {
  const box = $("answer");
  box.className = `answer ${ok ? "ok" : "error"}`;
  $("answer-verdict").textContent = verdict;
  $("answer-name").textContent = name || "";
  $("answer-detail").textContent = detail || "";
  box.hidden = false;
  beep(ok);
}

function who(attendee) {
  if (!attendee) return "";
  return [attendee.name, attendee.organisation, attendee.ticket_type].filter(Boolean).join(" · ");
}

function showResult(status, body) {
  if (status === 201) {
    const verdict = body.type === "exit" ? "Exit recorded" : "Admitted";
    const detail = body.conflict ? `Recorded offline; conflict: ${REASONS[body.conflict_reason] || body.conflict_reason}` : "";
    answer(true, verdict, who(body.attendee), detail);
    return;
  }
  const reason = body.reason || "invalid";
  // The server's own sentence; a check made on this device offline says it the same way.
  let detail = body.detail || DETAILS[reason] || "";
  if (reason === "already_redeemed" && body.earlier) {
    const when = clock.format(new Date(body.earlier.scanned_at));
    detail = `First checked in at ${when}${body.earlier.gate ? ` at ${body.earlier.gate}` : ""}${body.earlier.staff ? ` by ${body.earlier.staff}` : ""}.`;
  }
  answer(false, REASONS[reason] || "Refused", who(body.attendee), detail);
}

// ---------------------------------------------------------------------------------------------
// Scanning

function scanBody(secret) {
  return {
    secret,
    list: Number($("list").value),
    type: document.querySelector('input[name="direction"]:checked').value,
    nonce: crypto.randomUUID(),
    gate: $("gate").value.trim(),
  };
}

async function post(body) {
  const response = await fetch(`${base}/checkins`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  return { status: response.status, body: payload };
}

async function check(rawCode) {
  const secret = rawCode.trim().toUpperCase();
  if (!secret) return;
  const body = scanBody(secret);
  if ($("offline").checked) {
    await checkOffline(body);
    return;
  }
  try {
    const { status, body: result } = await post(body);
    if (status === 201 || status === 400 || (status === 404 && result.status === "error" && result.reason === "invalid")) {
      showResult(status, result);
    } else {
      answer(false, "Could not check", "", result.detail || `The server answered ${status}.`);
    }
  } catch {
    // The network is gone: check here and keep the scan for later.
    await checkOffline(body);
  }
}

async function checkOffline(body) {
  if (!offlineData) {
    answer(false, "Cannot check offline", "", "The offline data was never downloaded on this device.");
    return;
  }
  const claims = await verifySecret(body.secret, offlineData.publicKey);
  if (!claims) return showResult(404, { reason: "invalid" });
  if (offlineData.revoked.has(revocationDigest(body.secret))) return showResult(400, { reason: "revoked" });
  const list = offlineData.lists.find((l) => l.id === body.list);
  const now = new Date();
  if (list && list.ticket_types.length && !list.ticket_types.includes(claims.typeId)) return showResult(400, { reason: "product" });
  if (list && ((list.valid_from && now < new Date(list.valid_from)) || (list.valid_until && now > new Date(list.valid_until)))) {
    return showResult(400, { reason: "invalid_time" });
  }
  const key = `${body.list}:${body.secret}`;
  if (body.type === "entry" && list && !list.multi_entry && seenOffline.has(key)) {
    return showResult(400, { reason: "already_redeemed" });
  }
  if (body.type === "entry") seenOffline.add(key);
  else seenOffline.delete(key);
  const queue = readQueue();
  queue.push({ ...body, offline: true, scanned_at: now.toISOString() });
  localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
  answer(true, body.type === "exit" ? "Exit recorded (offline)" : "Admitted (offline)", `Ticket ${claims.ticketId}`, "Will be uploaded when back online.");
  renderQueue();
}

function readQueue() {
  try {
    return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
  } catch {
    return [];
  }
}

function renderQueue() {
  const waiting = readQueue().length;
  const ready = offlineData ? "Offline data ready on this device." : "Offline data not downloaded yet.";
  $("offline-status").textContent = `${ready} ${waiting} ${waiting === 1 ? "scan" : "scans"} waiting to upload.`;
  $("upload").disabled = waiting === 0;
}

async function upload() {
  const queue = readQueue();
  const left = [];
  for (const scan of queue) {
    try {
      const { status } = await post(scan);
      if (status >= 500 || status === 401 || status === 403) left.push(scan);
    } catch {
      left.push(scan);
    }
  }
  localStorage.setItem(QUEUE_KEY, JSON.stringify(left));
  renderQueue();
  return queue.length - left.length;
}

async function everyPage(path) {
  const items = [];
  for (let offset = 0; ; offset += 200) {
    const page = await api(`${path}?limit=200&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

async function downloadOfflineData() {
  const key = await api(`${base}/scanner-key`);
  const revoked = await everyPage(`${base}/revocations`);
  offlineData = { publicKey: key.public_key, revoked: new Set(revoked.map((r) => r.digest)), lists };
  localStorage.setItem(OFFLINE_KEY, JSON.stringify({ ...offlineData, revoked: [...offlineData.revoked] }));
  renderQueue();
}

function restoreOfflineData() {
  try {
    const stored = JSON.parse(localStorage.getItem(OFFLINE_KEY) || "null");
    if (stored) offlineData = { ...stored, revoked: new Set(stored.revoked) };
  } catch {
    offlineData = null;
  }
}

// ---------------------------------------------------------------------------------------------
// The camera: BarcodeDetector where the browser has it, else the vendored jsQR

let stream = null;
async function startCamera() {
  if (stream) {
    stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("video").hidden = true;
    $("camera-button").textContent = "Use the camera";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (error) {
    answer(false, "No camera", "", `The camera cannot be used here (${error.name}); type or wedge-scan the code.`);
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $("camera-button").textContent = "Stop the camera";
  const detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  const canvas = $("frame");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let last = "";
  let lastAt = 0;
  const tick = async () => {
    if (!stream) return;
    let text = null;
    if (video.readyState >= 2) {
      if (detector) {
        const codes = await detector.detect(video).catch(() => []);
        text = codes.length ? codes[0].rawValue : null;
      } else if (window.jsQR) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0);
        const frame = context.getImageData(0, 0, canvas.width, canvas.height);
        const code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
        text = code ? code.data : null;
      }
    }
    if (text && (text !== last || Date.now() - lastAt > 3000)) {
      last = text;
      lastAt = Date.now();
      await check(text);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// ---------------------------------------------------------------------------------------------
// Search for people without their code

async function search(event) {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) return;
  const page = await api(`${base}/tickets?limit=10&q=${encodeURIComponent(q)}`);
  const items = page.items.map((ticket) => {
    const item = document.createElement("li");
    const text = Object.assign(document.createElement("span"), {
      textContent: `${ticket.name} · ${ticket.organisation || ticket.email} · ${ticket.type_name}${ticket.status === "valid" ? "" : ` (${ticket.status})`}`,
    });
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Check in" });
    button.setAttribute("aria-label", `Check in ${ticket.name}`);
    button.addEventListener("click", () => check(ticket.secret || ""));
    item.append(text, button);
    return item;
  });
  if (!items.length) items.push(Object.assign(document.createElement("li"), { textContent: "Nobody matches." }));
  $("results").replaceChildren(...items);
}

// ---------------------------------------------------------------------------------------------

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first (door staff or organiser).", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  const mine = me.events.find((event) => event.slug === slug);
  if (!mine || !mine.roles.some((role) => role === "door_staff" || role === "organiser")) {
    show($("page-message"), "Only this event's door staff and organisers can check people in.", "error");
    return;
  }
  lists = (await api(`${base}/checkin-lists?limit=200`)).items;
  $("list").replaceChildren(...lists.map((list) => Object.assign(document.createElement("option"), { value: String(list.id), textContent: list.name })));
  const wanted = new URLSearchParams(location.search).get("list");
  if (wanted) $("list").value = wanted;
  for (const id of ["scanner", "offline-section", "search-section"]) $(id).hidden = false;
  restoreOfflineData();
  renderQueue();
  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("code").value;
    $("code").value = "";
    await check(code);
    $("code").focus();
  });
  $("camera-button").addEventListener("click", startCamera);
  $("search-form").addEventListener("submit", (event) => search(event).catch((error) => show($("page-message"), explain(error), "error")));
  $("upload").addEventListener("click", async () => {
    const sent = await upload();
    show($("page-message"), `${sent} waiting ${sent === 1 ? "scan" : "scans"} uploaded.`, "ok");
  });
  $("offline").addEventListener("change", async () => {
    if ($("offline").checked && navigator.onLine) await downloadOfflineData().catch(() => {});
    renderQueue();
  });
  window.addEventListener("online", () => { if (!$("offline").checked) upload(); });
  downloadOfflineData().catch(() => {}); // ready before the network goes
  $("code").focus();
}

start().catch((error) => show($("page-message"), explain(error), "error"));
