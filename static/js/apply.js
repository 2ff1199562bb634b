// The application form: start (with an account or a mailed link), save drafts, upload the logo,
// submit, then follow the application and confirm or decline. Links carry their secrets in the
// URL fragment (#code=..., #resume=...), which never reaches the server's logs.
import { ApiError, api, explain, show, whoAmI } from "./api.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const FIELDS = [
  "company_name", "country", "sectors", "stage", "year_founded", "team_size", "women_led",
  "founders", "one_liner", "description", "traction", "funding_sought_usd", "website", "deck_url",
  "contact_email",
];
const STAGES = { idea: "Idea", pre_seed: "Pre-seed", seed: "Seed", series_a: "Series A", series_b_plus: "Series B or later" };
const STATES = {
  draft: "A draft: only you and the organisers' system see it. Submit it before the call closes.",
  submitted: "Submitted. Every applicant hears the decision at the same time.",
  waitlisted: "On the waitlist: if a place frees up, we write to you at once.",
  rejected: "Not selected this time. Thank you for applying.",
  accepted: "Selected! Please confirm that you will pitch, or decline the place.",
  confirmed: "Confirmed: see you on stage.",
  declined: "You declined the place.",
  withdrawn: "You withdrew this application.",
};

let call = null;
let application = null;
let nominationCode = "";
let me = null;

function readFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname + location.search);
  const code = params.get("code");
  if (code) sessionStorage.setItem(`nomination:${slug}`, code);
  nominationCode = sessionStorage.getItem(`nomination:${slug}`) || "";
  return params.get("resume") || "";
}

function formatMoment(text) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(new Date(text));
}

function describeCall() {
  const parts = [];
  if (call.is_open) parts.push(call.closes_at ? `Applications are open until ${formatMoment(call.closes_at)}.` : "Applications are open.");
  else if (call.opens_at && new Date(call.opens_at) > new Date()) parts.push(`Applications open on ${formatMoment(call.opens_at)}; you can prepare a draft now.`);
  else parts.push("Applications are closed; drafts can still be saved.");
  parts.push(call.open_to_all ? "Any start-up may apply." : "Applications come through a nominating incubator's link.");
  $("call-summary").textContent = parts.join(" ");
}

function fillChoices() {
  const country = $("f-country");
  const asean = Object.assign(document.createElement("optgroup"), { label: "ASEAN" });
  const others = Object.assign(document.createElement("optgroup"), { label: "Other countries" });
  call.countries.forEach((c, index) => (index < 10 ? asean : others).append(new Option(c.name, c.code)));
  country.replaceChildren(new Option("Choose a country", ""), asean, others);
  $("f-stage").replaceChildren(new Option("Choose a stage", ""), ...call.stages.map((s) => new Option(STAGES[s] || s, s)));
  $("sector-choices").replaceChildren(
    ...call.sectors.map((sector, index) => {
      const id = `sector-${index}`;
      const box = Object.assign(document.createElement("input"), { type: "checkbox", id, value: sector, name: "sector" });
      const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: sector });
      const wrap = document.createElement("div");
      wrap.className = "check";
      wrap.append(box, label);
      return wrap;
    }),
  );
  $("women-led-definition").textContent = call.women_led_definition;
}

function founderRow(founder = { name: "", role: "" }) {
  const index = $("founders").children.length + 1;
  const row = document.createElement("div");
  row.className = "pair founder";
  for (const [key, label] of [["name", `Founder ${index} name`], ["role", `Founder ${index} role`]]) {
    const holder = document.createElement("div");
    const input = Object.assign(document.createElement("input"), { id: `founder-${index}-${key}`, value: founder[key] || "", maxLength: key === "name" ? 200 : 100 });
    input.dataset.key = key;
    holder.append(Object.assign(document.createElement("label"), { htmlFor: input.id, textContent: label }), input);
    row.append(holder);
  }
  $("founders").append(row);
}

function fillForm(values) {
  const form = $("application-form");
  for (const name of ["company_name", "one_liner", "description", "traction", "website", "deck_url", "contact_email", "country", "stage"]) {
    form.elements[name].value = values[name] ?? "";
  }
  for (const name of ["year_founded", "team_size", "funding_sought_usd"]) form.elements[name].value = values[name] ?? "";
  form.elements.women_led.checked = Boolean(values.women_led);
  for (const box of form.querySelectorAll('input[name="sector"]')) box.checked = (values.sectors || []).includes(box.value);
  $("founders").replaceChildren();
  const founders = values.founders && values.founders.length ? values.founders : [{}];
  founders.forEach((founder) => founderRow(founder));
  countOneLiner();
  const preview = $("logo-preview");
  preview.hidden = !values.logo_url;
  if (values.logo_url) preview.src = values.logo_url;
}

function formValues() {
  const form = $("application-form");
  const text = (name) => form.elements[name].value.trim();
  const number = (name) => (form.elements[name].value === "" ? null : Number(form.elements[name].value));
  const founders = [...$("founders").querySelectorAll(".founder")]
    .map((row) => ({ name: row.querySelector('[data-key="name"]').value.trim(), role: row.querySelector('[data-key="role"]').value.trim() }))
    .filter((founder) => founder.name);
  return {
    company_name: text("company_name"),
    country: text("country") || null,
    sectors: [...form.querySelectorAll('input[name="sector"]:checked')].map((box) => box.value),
    stage: text("stage") || null,
    year_founded: number("year_founded"),
    team_size: number("team_size"),
    women_led: form.elements.women_led.checked,
    founders,
    one_liner: text("one_liner"),
    description: text("description"),
    traction: text("traction"),
    funding_sought_usd: number("funding_sought_usd"),
    website: text("website"),
    deck_url: text("deck_url"),
    contact_email: text("contact_email") || null,
  };
}

function clearFieldErrors() {
  for (const element of document.querySelectorAll(".field-error")) element.textContent = "";
  for (const element of document.querySelectorAll('[aria-invalid="true"]')) element.removeAttribute("aria-invalid");
  $("form-errors").textContent = "";
}

/** Show each field's error next to it, and a summary at the top of the form. */
function showFieldErrors(error) {
  clearFieldErrors();
  const unplaced = [];
  for (const item of error.errors || []) {
    const field = String(item.key).split(".").find((part) => FIELDS.includes(part));
    const slot = field && $(`e-${field}`);
    if (!slot) { unplaced.push(`${item.key}: ${item.message}`); continue; }
    slot.textContent = [slot.textContent, item.message].filter(Boolean).join("; ");
    const input = $(`f-${field}`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", `e-${field}`);
    }
  }
  const summary = (error.errors || []).length ? `${error.message} (${error.errors.length} to fix)` : explain(error);
  $("form-errors").textContent = [summary, ...unplaced].join(" — ");
  const first = document.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

function countOneLiner() {
  $("one-liner-count").textContent = `${$("f-one_liner").value.length}/140`;
}

function editable() {
  return !application || application.state === "draft" || (application.state === "submitted" && call.is_open);
}

function render() {
  const form = $("application-form");
  $("signin-card").hidden = true;
  if (!application && !call.open_to_all && !nominationCode) {
    form.hidden = true;
    show($("page-message"), "This call is by nomination: open the link your incubator sent you to apply.", "error");
    return;
  }
  form.hidden = false;
  const card = $("status-card");
  if (!application) {
    card.hidden = true;
  } else {
    card.hidden = false;
    $("state-tag").textContent = application.state;
    const nominated = application.incubator_name ? ` Nominated by ${application.incubator_name}.` : "";
    $("state-text").textContent = (STATES[application.state] || "") + nominated;
    const state = application.state;
    $("submit-button").hidden = state !== "draft";
    $("withdraw-button").hidden = !["draft", "submitted", "waitlisted"].includes(state);
    $("confirm-button").hidden = state !== "accepted";
    $("decline-button").hidden = !["accepted", "confirmed"].includes(state);
    fillForm(application);
  }
  const locked = !editable();
  for (const element of form.querySelectorAll("input, select, textarea, button")) element.disabled = locked;
  $("form-title").textContent = locked ? "The application (no longer editable)" : "The application";
}

async function save() {
  const body = formValues();
  if (application) {
    application = await api(`${base}/applications/${application.id}`, { method: "PATCH", body });
  } else {
    application = await api(`${base}/applications`, { method: "POST", body: { ...body, nomination_code: nominationCode || null } });
  }
  clearFieldErrors();
  render();
}

async function onSave(event) {
  event.preventDefault();
  const button = $("save-button");
  button.disabled = true;
  try {
    await save();
    show($("save-message"), "Draft saved.", "ok");
  } catch (error) {
    show($("save-message"), "", "");
    if (error instanceof ApiError) showFieldErrors(error);
    else throw error;
  } finally {
    button.disabled = !editable();
  }
}

async function move(action, done) {
  show($("status-message"), "");
  try {
    if (action === "submit" && editable()) await save();
    application = await api(`${base}/applications/${application.id}/${action}`, { method: "POST" });
    render();
    show($("status-message"), done, "ok");
  } catch (error) {
    if (error.reason === "incomplete" || (error.errors || []).length) showFieldErrors(error);
    show($("status-message"), explain(error), "error");
  }
}

async function uploadLogo() {
  const file = $("f-logo").files[0];
  $("e-logo").textContent = "";
  if (!file) return;
  try {
    if (!application) await save();
    const response = await fetch(`${base}/applications/${application.id}/logo?filename=${encodeURIComponent(file.name)}`, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    const payload = await response.json().catch(() => ({ detail: response.statusText }));
    if (!response.ok) throw new ApiError(payload);
    application = payload;
    render();
    show($("save-message"), "Logo saved.", "ok");
  } catch (error) {
    $("e-logo").textContent = error.message;
    $("f-logo").setAttribute("aria-invalid", "true");
    $("f-logo").value = "";
  }
}

async function checkCode() {
  if (!nominationCode) return;
  try {
    const nomination = await api(`${base}/nomination-codes/check`, { method: "POST", body: { code: nominationCode } });
    show($("nomination"), `Nominated by ${nomination.incubator_name} (${nomination.remaining} nomination${nomination.remaining === 1 ? "" : "s"} left).`, "ok");
  } catch (error) {
    if (error.status === 429) {
      show($("nomination"), "Too many checks from here; reload the page in a few minutes.", "error");
      return;
    }
    show($("nomination"), `Your nomination link does not work: ${explain(error)}`, "error");
    nominationCode = "";
  }
}

function wireSignIn() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await api("/api/auth/login", { method: "POST", body: { email: form.email.value, password: form.password.value } });
      await showApplication();
    } catch (error) {
      show($("login-message"), explain(error), "error");
    }
  });
  $("start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const answer = await api(`${base}/applications/start`, {
        method: "POST",
        body: { company_name: form.company_name.value.trim(), contact_email: form.contact_email.value.trim(), nomination_code: nominationCode || null },
      });
      show($("start-message"), answer.detail, "ok");
    } catch (error) {
      show($("start-message"), explain(error), "error");
    }
  });
  $("link-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api(`${base}/applications/resume-link`, { method: "POST", body: { email: event.target.email.value.trim() } });
      show($("link-message"), answer.detail, "ok");
    } catch (error) {
      show($("link-message"), explain(error), "error");
    }
  });
}

async function showApplication() {
  me = await whoAmI();
  if (!me) {
    $("signin-card").hidden = false;
    $("application-form").hidden = true;
    return;
  }
  $("who").textContent = me.email;
  try {
    application = await api(`${base}/applications/mine`);
  } catch (error) {
    if (error.status !== 404) throw error;
    application = null;
    fillForm({ contact_email: me.email });
  }
  render();
}

async function load() {
  const resume = readFragment();
  if (!slug) {
    $("call-summary").textContent = "This page needs an event: open it from the event's link.";
    return;
  }
  try {
    call = await api(`${base}/call`);
  } catch (error) {
    $("call-summary").textContent = explain(error);
    return;
  }
  describeCall();
  fillChoices();
  wireSignIn();
  $("application-form").addEventListener("submit", onSave);
  $("add-founder").addEventListener("click", () => founderRow());
  $("f-one_liner").addEventListener("input", countOneLiner);
  $("f-logo").addEventListener("change", uploadLogo);
  $("submit-button").addEventListener("click", () => move("submit", "Submitted. Thank you!"));
  $("withdraw-button").addEventListener("click", () => move("withdraw", "Your application is withdrawn."));
  $("confirm-button").addEventListener("click", () => move("confirm", "Confirmed. See you on stage!"));
  $("decline-button").addEventListener("click", () => move("decline", "You declined the place."));
  if (resume) {
    try {
      await api(`${base}/applications/resume`, { method: "POST", body: { token: resume } });
    } catch (error) {
      show($("page-message"), `This link no longer works (${explain(error)}); ask for a new one below.`, "error");
    }
  }
  await checkCode();
  await showApplication();
}

// A mailed link opened in the tab already showing this page changes only the fragment.
window.addEventListener("hashchange", () => location.reload());
load();
