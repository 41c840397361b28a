// Settings: the service-wide values and the TTLs the service derives from them (always the
// service's own figures: while the operator types a sync timeout, GET /api/settings/preview
// computes them, unsaved; on save they come from the service's answer), the ingest password,
// and which provider keys are configured.
import { $, api, canChange, copyText, errorText, fmtSeconds, h, show, showFieldErrors, fmtTime } from "./common.js";

const form = $("#settings-form");
const PREVIEW_DELAY_MS = 250; // typing "55" asks once, not for "5" and then "55"
let current = null;
let previewTimer = null;
let previewAbort = null;

function showTtls(figures) {
  $("#ttl-public-link").textContent = fmtSeconds(figures.public_link_ttl_sec);
  $("#ttl-ingest").textContent = fmtSeconds(figures.ingest_ttl_sec);
  $("#ttl-job-deadline").textContent = fmtSeconds(figures.job_deadline_sec);
}

function render(settings) {
  current = settings;
  const low = settings.sync_timeout_min_sec;
  const high = settings.sync_timeout_max_sec;
  const sync = $("#sync-timeout");
  sync.value = settings.sync_timeout_sec;
  sync.min = low;
  sync.max = high;
  $("#sync-range").textContent = `how long a booth request waits for its photo (${low}–${high} s)`;
  showTtls(settings);
  $("#ttl-pending").hidden = true;
  $("#retention").value = settings.result_retention_sec;
  $("#retention-words").textContent = `how long results stay downloadable (now ${fmtSeconds(settings.result_retention_sec)})`;
  $("#password-state").textContent = settings.ingest_password_set ? "set" : "not set";
  $("#provider-keys").replaceChildren(
    ...Object.entries(settings.providers_configured).map(([name, configured]) =>
      h(
        "tr",
        { dataset: { provider: name } },
        h("td", {}, name),
        h("td", {}, h("span", { class: `badge ${configured ? "good" : "idle"}` }, configured ? "configured" : "not set")),
      ),
    ),
  );
  $("#setting-changes").replaceChildren(
    ...settings.changes.map((c) => h("li", {}, `${c.key}: ${fmtTime(c.updated_at)} by ${c.updated_by}`)),
  );
  document.body.dataset.loaded = "true";
}

async function load() {
  try {
    render(await api("/api/settings"));
  } catch (error) {
    show($("#settings-error"), errorText(error));
  }
}

// The TTLs of the value being typed, from the service (the same rule and range as saving).
async function preview() {
  const typed = $("#sync-timeout").value;
  previewAbort?.abort();
  previewAbort = new AbortController();
  const field = $("#sync-timeout").closest("label"); // its own error only, not the form's
  showFieldErrors(field, null);
  show($("#settings-error"), "");
  if (typed === "" || Number(typed) === current.sync_timeout_sec) {
    showTtls(current);
    $("#ttl-pending").hidden = true;
    return;
  }
  try {
    const query = new URLSearchParams({ sync_timeout_sec: typed });
    showTtls(await api(`/api/settings/preview?${query}`, { signal: previewAbort.signal }));
    $("#ttl-pending").hidden = false;
  } catch (error) {
    if (error.name === "AbortError") return; // a newer value is being previewed
    showTtls(current); // an unacceptable value changes nothing: what the service uses now
    $("#ttl-pending").hidden = true;
    const unplaced = showFieldErrors(field, error);
    if (error.code !== "validation_error" || unplaced.length) show($("#settings-error"), errorText(error));
  }
}

$("#sync-timeout").addEventListener("input", () => {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
});

if (canChange()) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show($("#settings-saved"), "");
    showFieldErrors(form, null);
    const changes = {};
    const sync = Number($("#sync-timeout").value);
    const retention = Number($("#retention").value);
    if (sync !== current.sync_timeout_sec) changes.sync_timeout_sec = sync;
    if (retention !== current.result_retention_sec) changes.result_retention_sec = retention;
    try {
      render(await api("/api/settings", { method: "PATCH", json: changes }));
      show($("#settings-saved"), "Saved: new jobs use these values.");
    } catch (error) {
      const unplaced = showFieldErrors(form, error);
      if (error.code !== "validation_error" || unplaced.length) show($("#settings-error"), errorText(error));
    }
  });

  async function rotate(password) {
    show($("#password-saved"), "");
    showFieldErrors($("#password-form"), null);
    try {
      const body = password === undefined ? {} : { password };
      const answer = await api("/api/settings/ingest-password", { method: "POST", json: body });
      $("#generated-box").hidden = !answer.generated_password;
      $("#generated-password").value = answer.generated_password || "";
      $("#new-password").value = "";
      show($("#password-saved"), "The ingest password was changed; the next ingest needs it.");
      await load();
    } catch (error) {
      const unplaced = showFieldErrors($("#password-form"), error);
      if (error.code !== "validation_error" || unplaced.length) show($("#settings-error"), errorText(error));
    }
  }

  $("#generate-password").addEventListener("click", () => rotate(undefined));
  $("#password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    rotate($("#new-password").value);
  });
  $("#copy-password").addEventListener("click", () =>
    copyText($("#generated-password").value, $("#generated-password")),
  );
}

load();
