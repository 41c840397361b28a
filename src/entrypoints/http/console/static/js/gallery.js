// Gallery: finished results per slot, newest first, with their download link and expiry.
import { $, api, errorText, fmtTime, h, show } from "./common.js";

const grid = $("#gallery");
let cursor = null;

function tile(job) {
  return h(
    "figure",
    { class: "card tile", dataset: { jobId: job.id, slotId: job.slot_id } },
    h("a", { href: job.result_url }, h("img", { src: job.result_url, alt: `Result of ${job.slot_id}`, loading: "lazy" })),
    h("p", {}, h("strong", {}, job.slot_id), job.is_test ? h("span", { class: "badge" }, " test run") : null),
    h("p", { class: "muted" }, `${job.provider} / ${job.operation} · ${fmtTime(job.finalized_at)}`),
    h("p", {}, h("a", { href: job.result_url, download: "", class: "download" }, "Download"), ` · expires ${fmtTime(job.result_expires_at)}`),
  );
}

async function load(append) {
  const params = new URLSearchParams({ state: "succeeded", limit: "48" });
  const slot = $("#gallery-slot").value;
  if (slot) params.set("slot_id", slot);
  if (append && cursor) params.set("before", cursor);
  try {
    const page = await api(`/api/jobs?${params}`);
    const tiles = page.items.filter((job) => job.result_url).map(tile);
    if (append) grid.append(...tiles);
    else grid.replaceChildren(...tiles);
    if (!grid.children.length) grid.append(h("p", { class: "muted" }, "No downloadable results."));
    cursor = page.next;
    $("#gallery-more").hidden = !cursor;
    show($("#gallery-error"), "");
    document.body.dataset.loaded = "true";
  } catch (error) {
    show($("#gallery-error"), errorText(error));
  }
}

const wanted = new URLSearchParams(window.location.search).get("slot");
if (wanted) $("#gallery-slot").value = wanted;
$("#gallery-slot").addEventListener("change", () => load(false));
$("#gallery-more").addEventListener("click", () => load(true));
load(false);
