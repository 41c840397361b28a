// Shared by every console page: the JSON API client (session cookie + CSRF header), small DOM
// helpers and display formats. No rules live here: what is valid or allowed is the API's
// answer, shown to the operator as it comes.

const CSRF_COOKIE = "photochanger_csrf";
const CSRF_HEADER = "X-CSRF-Token";
export const LOGIN_PAGE = "/admin/login";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the service answered ${status}`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = error.details || {};
  }
}

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

export function toLogin() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`${LOGIN_PAGE}?next=${encodeURIComponent(next)}`);
}

// fetch with the session cookie; state changes carry the CSRF token. `json` sends a JSON
// body, `form` a FormData. Answers the parsed JSON (or the Response when `raw`); throws
// ApiError for an error answer, after sending a logged-out operator to the login page.
export async function api(path, { method = "GET", json, form, raw = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (method !== "GET" && method !== "HEAD") headers[CSRF_HEADER] = csrfToken();
  const response = await fetch(path, { method, headers, body, credentials: "same-origin", signal });
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (response.status === 401 && path !== "/api/login") toLogin();
    throw new ApiError(response.status, parsed);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// Plain words for an error answer: what happened, then the service's own message.
const WORDS = {
  timeout: "The provider did not finish before the deadline.",
  provider_error: "The provider failed.",
  cancelled: "The job was cancelled.",
  conflict: "Someone else changed this.",
  validation_error: "Some values are not accepted.",
  invalid_request: "The request was not accepted.",
  payload_too_large: "The file is too large.",
  unsupported_media_type: "That file is not an image this provider accepts.",
  rate_limited: "Too many requests; wait a moment.",
  forbidden: "Your role does not allow this.",
  slot_not_found: "The slot is not found or not active.",
  service_unavailable: "The service cannot reach its database or storage.",
  storage_error: "The result could not be stored.",
};

export function errorText(error) {
  if (!(error instanceof ApiError)) return `Could not reach the service (${error.message}).`;
  const lead = WORDS[error.code];
  return lead && lead !== error.message ? `${lead} ${error.message}` : error.message;
}

// h("a", {href: "/x", class: "y", dataset: {id: 1}, onclick: fn}, "text", child…)
export function h(tag, props = {}, ...children) {
  const node = tag === "svg" || props.svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false || key === "svg") continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function canChange() {
  return document.body.dataset.role === "admin";
}

export function show(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

let toastTimer = null;
export function toast(message) {
  const node = $("#toast");
  if (!node) return;
  show(node, message);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show(node, ""), 4000);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function fmtSeconds(seconds) {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${Number(seconds.toFixed(1))} s`;
}

// Run `task` now and then every `ms` after each run ends (never two at once); a failure is
// shown through `onError` and the polling goes on.
export function every(ms, task, onError = () => {}) {
  let timer = null;
  const run = async () => {
    try {
      await task();
      onError(null);
    } catch (error) {
      onError(error);
    }
    timer = setTimeout(run, ms);
  };
  run();
  return () => clearTimeout(timer);
}

export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    input.select();
    document.execCommand("copy"); // plain-http hosts have no clipboard API
  }
}

// The navigation bar's log-out button (present on every page but the login).
const logout = $("#logout");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await api("/api/logout", { method: "POST" });
    } finally {
      window.location.assign(LOGIN_PAGE);
    }
  });
}

// A 422's `details.fields` ({name: message}) next to the fields it names (elements with
// data-error-for="name" inside `root`); what names no shown field is answered for the caller.
export function showFieldErrors(root, error) {
  for (const node of $$("[data-error-for]", root)) show(node, "");
  if (!error) return [];
  const fields = (error.details && error.details.fields) || {};
  const unplaced = [];
  for (const [name, message] of Object.entries(fields)) {
    const node = root.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (node) show(node, message);
    else unplaced.push(message);
  }
  return unplaced;
}
