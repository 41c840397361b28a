// Slot editor: the slot's form (settings generated from the provider catalogue), saving with
// the updated_at last read (a 409 means someone else saved first), activation, the booth's
// ingest URL, and a test run with the unsaved settings.
import { $, api, canChange, copyText, errorText, fmtMs, fmtTime, h, show, showFieldErrors } from "./common.js";
import { readSettings, renderSettings } from "./settings_form.js";

const slotId = document.body.dataset.slotId;
const form = $("#slot-form");
const fields = $("#settings-fields");
let slot = null; // as last read from the API
let catalogue = [];
let templates = [];

const provider = () => catalogue.find((p) => p.name === $("#slot-provider").value);
const operation = () => (provider()?.operations || []).find((o) => o.name === $("#slot-operation").value);

function fillSelect(select, names, chosen) {
  select.replaceChildren(...names.map(([value, text]) => h("option", { value, selected: value === chosen }, text)));
  if (!names.some(([value]) => value === chosen) && names.length) select.value = names[0][0];
}

function renderProvider(chosenOperation) {
  const current = provider();
  $("#provider-note").textContent = current && !current.configured ? `not configured: ${current.missing}` : "";
  fillSelect($("#slot-operation"), (current?.operations || []).map((o) => [o.name, o.name]), chosenOperation);
}

function renderFields(values) {
  renderSettings(fields, operation()?.settings || [], values, {
    templates,
    readOnly: !canChange(),
    upload: uploadTemplate,
  });
  updateTestButton();
}

function render(fresh) {
  slot = fresh;
  $("#slot-title").textContent = `${slot.name} (${slot.id})`;
  const state = $("#slot-state");
  state.textContent = slot.is_active ? "active" : "inactive";
  state.className = `badge ${slot.is_active ? "good" : "idle"}`;
  $("#slot-name").value = slot.name;
  fillSelect(
    $("#slot-provider"),
    catalogue.map((p) => [p.name, p.configured ? p.name : `${p.name} (not configured)`]),
    slot.provider,
  );
  renderProvider(slot.operation);
  renderFields(slot.settings);
  $("#ingest-url").value = slot.ingest_url;
  if (canChange()) {
    $("#activate-slot").hidden = slot.is_active;
    $("#deactivate-slot").hidden = !slot.is_active;
  }
  $("#recent-results").replaceChildren(
    ...(slot.recent_results || []).map((r) =>
      h(
        "figure",
        { class: "tile" },
        h("a", { href: r.result_url }, h("img", { src: r.result_url, alt: `Result ${r.job_id}` })),
        h("p", {}, `${fmtTime(r.finished_at)} · kept until ${fmtTime(r.expires_at)}`),
      ),
    ),
  );
  if (!(slot.recent_results || []).length) $("#recent-results").append(h("p", { class: "muted" }, "No results yet."));
}

async function load() {
  $("#slot-conflict").hidden = true;
  showFieldErrors(form, null);
  const [fresh, providers, templateList] = await Promise.all([
    api(`/api/slots/${slotId}`),
    api("/api/providers"),
    api("/api/templates"),
  ]);
  catalogue = providers.items;
  templates = templateList.items;
  render(fresh);
  document.body.dataset.loaded = "true";
}

async function save(isActive) {
  show($("#slot-saved"), "");
  show($("#slot-error"), "");
  showFieldErrors(form, null);
  const body = {
    name: $("#slot-name").value,
    provider: $("#slot-provider").value,
    operation: $("#slot-operation").value,
    settings: readSettings(fields),
    is_active: isActive,
    updated_at: slot.updated_at,
  };
  try {
    const saved = await api(`/api/slots/${slotId}`, { method: "PUT", json: body });
    render({ ...saved, recent_results: slot.recent_results });
    show($("#slot-saved"), isActive ? "Saved; the slot is active." : "Saved; the slot is inactive.");
  } catch (error) {
    if (error.code === "conflict") {
      $("#slot-conflict").hidden = false;
      return;
    }
    const unplaced = showFieldErrors(form, error);
    if (error.code !== "validation_error" || unplaced.length) show($("#slot-error"), errorText(error));
  }
}

async function uploadTemplate(path, file) {
  const values = readSettings(fields);
  const data = new FormData();
  data.append("file", file);
  data.append("label", file.name.replace(/\.[^.]+$/, "") || file.name);
  try {
    const added = await api("/api/templates", { method: "POST", form: data });
    templates = [...templates, added];
    const keys = path.split(".");
    let target = values;
    for (const key of keys.slice(0, -1)) target = target[key] ??= {};
    target[keys[keys.length - 1]] = added.id;
    renderFields(values);
  } catch (error) {
    show($("#slot-error"), errorText(error));
  }
}

// --- test run ----------------------------------------------------------------------------------

function updateTestButton() {
  const button = $("#run-test");
  if (!button || !slot) return;
  const changed = $("#slot-provider").value !== slot.provider || $("#slot-operation").value !== slot.operation;
  button.disabled = !$("#test-photo").files.length || changed;
  $("#test-status").textContent = changed ? "Save first: a test run uses the saved provider and operation." : "";
}

// What the provider itself said about a failed job (GET /api/jobs/{id}), if anything.
async function providerWords(jobId) {
  try {
    const job = await api(`/api/jobs/${jobId}`);
    return job.failure_detail ? ` The provider said: ${job.failure_detail}` : "";
  } catch {
    return "";
  }
}

async function runTest() {
  const photo = $("#test-photo").files[0];
  const data = new FormData();
  data.append("fileToUpload", photo);
  data.append("settings", JSON.stringify(readSettings(fields)));
  show($("#test-error"), "");
  $("#test-result").hidden = true;
  $("#run-test").disabled = true;
  $("#test-status").textContent = "Running…";
  const started = performance.now();
  try {
    const response = await api(`/api/slots/${slotId}/test-run`, { method: "POST", form: data, raw: true });
    const image = $("#test-result");
    image.src = URL.createObjectURL(await response.blob());
    image.hidden = false;
    const total = performance.now() - started;
    $("#test-timing").textContent =
      `Result: ${fmtMs(Number(response.headers.get("X-Timing-Ms")))} in the service, ` +
      `${fmtMs(total)} round trip (job ${response.headers.get("X-Job-Id")})`;
    $("#test-status").textContent = "Done.";
  } catch (error) {
    $("#test-status").textContent = "";
    const unplaced = error.code === "validation_error" ? showFieldErrors(form, error) : [];
    let words = error.code !== "validation_error" || unplaced.length ? errorText(error) : "Some settings are not accepted (see the form).";
    if (error.details && error.details.job_id) words += await providerWords(error.details.job_id);
    show($("#test-error"), words);
  } finally {
    updateTestButton();
  }
}

// --- wiring ------------------------------------------------------------------------------------

$("#slot-provider").addEventListener("change", () => {
  const values = readSettings(fields);
  renderProvider($("#slot-operation").value);
  renderFields(values);
});
$("#slot-operation").addEventListener("change", () => renderFields(readSettings(fields)));
$("#copy-url").addEventListener("click", () => copyText($("#ingest-url").value, $("#ingest-url")));
$("#reload-slot").addEventListener("click", () => load().catch((e) => show($("#slot-error"), errorText(e))));

if (canChange()) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(slot.is_active);
  });
  $("#activate-slot").addEventListener("click", () => save(true));
  $("#deactivate-slot").addEventListener("click", () => save(false));
  $("#test-photo").addEventListener("change", () => {
    const photo = $("#test-photo").files[0];
    const original = $("#test-original");
    if (photo) {
      original.src = URL.createObjectURL(photo);
      original.hidden = false;
    }
    updateTestButton();
  });
  $("#run-test").addEventListener("click", runTest);
}

load().catch((error) => show($("#slot-error"), errorText(error)));
