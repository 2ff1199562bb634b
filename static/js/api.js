// The one way pages talk to the JSON API: same-origin fetch, JSON in and out, problem details as errors.

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "Request failed");
    this.status = problem.status;
    this.reason = problem.reason;
    this.errors = problem.errors || [];
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => ({ status: response.status, detail: response.statusText }));
  if (!response.ok) throw new ApiError(payload);
  return payload;
}

/** The signed-in user with their roles per event, or null. */
export async function whoAmI() {
  try {
    return await api("/api/auth/me");
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

/** A readable sentence for an ApiError, naming the fields at fault. */
export function explain(error) {
  const fields = (error.errors || []).map((e) => `${e.key}: ${e.message}`);
  return [error.message, ...fields].join(" — ");
}

export function show(element, text, kind = "") {
  element.textContent = text;
  element.className = `message ${kind}`.trim();
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** "Thu, 18 Mar 2027, 09:00–18:00": days and hours are already local to the event. */
export function formatDay(day) {
  const date = dayFormat.format(new Date(`${day.day}T00:00:00Z`));
  return `${date}, ${day.opens_at.slice(0, 5)}–${day.closes_at.slice(0, 5)}`;
}
