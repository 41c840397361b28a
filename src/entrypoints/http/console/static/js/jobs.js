// Jobs: what waits now (polled; each deadline counts down between polls) with a cancel
// button, and the finished jobs filtered by slot and outcome, with the provider's message.
import { $, api, canChange, errorText, every, fmtMs, fmtTime, h, show, toast } from "./common.js";

const POLL_MS = 2000;
const WAITING = ["pending", "processing"];
let skewMs = 0; // server clock − browser clock, when they differ by more than the Date header's second
let finishedCursor = null;
let waitingSeen = null; // the waiting jobs' ids at the last poll: a change refreshes "Finished"

async function page(query) {
  const response = await api(`/api/jobs?${query}`, { raw: true });
  const server = Date.parse(response.headers.get("Date") || "");
  if (Number.isFinite(server)) {
    const skew = server - Date.now();
    skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }
  return response.json();
}

function countdown(node) {
  const left = Date.parse(node.dataset.expiresAt) - (Date.now() + skewMs);
  node.textContent = left > 0 ? `${(left / 1000).toFixed(1)} s` : "deadline passed";
  node.className = `countdown ${left < 5000 ? "detail" : ""}`;
}

async function cancel(job, button) {
  button.disabled = true;
  try {
    await api(`/api/jobs/${job.id}/cancel`, { method: "POST" });
    toast(`Cancelled the job on ${job.slot_id}; the booth was told at once.`);
  } catch (error) {
    toast(error.code === "conflict" ? "That job had already finished." : errorText(error));
  }
  await refreshWaiting();
}

function waitingRow(job) {
  const left = h("td", { class: "countdown", dataset: { expiresAt: job.expires_at } });
  countdown(left);
  const row = h(
    "tr",
    { dataset: { jobId: job.id, slotId: job.slot_id } },
    h("td", { class: "nowrap" }, job.slot_id, job.is_test ? h("span", { class: "badge" }, " test") : null),
    h("td", {}, job.state),
    h("td", {}, fmtTime(job.created_at)),
    left,
    h("td", {}, `${job.provider} / ${job.operation}`),
  );
  if (canChange()) {
    const button = h("button", { type: "button", class: "danger", onclick: () => cancel(job, button) }, "Cancel");
    row.append(h("td", {}, button));
  }
  return row;
}

async function refreshWaiting() {
  const pages = await Promise.all(WAITING.map((state) => page(`state=${state}&limit=200`)));
  const jobs = pages.flatMap((p) => p.items).sort((a, b) => a.expires_at.localeCompare(b.expires_at));
  const body = $("#waiting");
  body.replaceChildren(...jobs.map(waitingRow));
  if (!jobs.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nothing is waiting.")));
  $("#waiting-count").textContent = String(jobs.length);
  const ids = jobs.map((job) => job.id).join(",");
  if (waitingSeen !== null && ids !== waitingSeen) await loadFinished(false);
  waitingSeen = ids;
  document.body.dataset.loaded = "true";
}

function finishedRow(job) {
  const took = job.finalized_at ? Date.parse(job.finalized_at) - Date.parse(job.created_at) : null;
  const outcome = job.state.replace("_", " ");
  const level = job.state === "succeeded" ? "good" : job.state === "cancelled" ? "idle" : "bad";
  return h(
    "tr",
    { dataset: { jobId: job.id, slotId: job.slot_id, state: job.state } },
    h("td", {}, fmtTime(job.finalized_at)),
    h("td", { class: "nowrap" }, job.slot_id, job.is_test ? h("span", { class: "badge" }, " test") : null),
    h("td", {}, h("span", { class: `badge ${level}` }, outcome)),
    h("td", {}, `${job.provider} / ${job.operation}`),
    h("td", { class: "num" }, fmtMs(took)),
    h("td", { class: "num" }, String(job.attempts)),
    h(
      "td",
      { class: job.failure_detail ? "detail" : "" },
      job.failure_detail || (job.result_url ? h("a", { href: job.result_url }, "result") : ""),
    ),
  );
}

async function loadFinished(append) {
  const params = new URLSearchParams({ limit: "50" });
  const slot = $("#filter-slot").value;
  const outcome = $("#filter-outcome").value;
  if (slot) params.set("slot_id", slot);
  if (outcome) params.set("state", outcome);
  if (append && finishedCursor) params.set("before", finishedCursor);
  const result = await page(params.toString());
  const rows = result.items.filter((job) => !WAITING.includes(job.state)).map(finishedRow);
  const body = $("#finished");
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No finished jobs.")));
  finishedCursor = result.next;
  $("#finished-more").hidden = !finishedCursor;
}

const showError = (error) => show($("#jobs-error"), error ? errorText(error) : "");
for (const select of [$("#filter-slot"), $("#filter-outcome")]) {
  select.addEventListener("change", () => loadFinished(false).catch(showError));
}
$("#finished-more").addEventListener("click", () => loadFinished(true).catch(showError));
every(POLL_MS, refreshWaiting, showError);
loadFinished(false).catch(showError);
setInterval(() => document.querySelectorAll("td.countdown").forEach(countdown), 250);
