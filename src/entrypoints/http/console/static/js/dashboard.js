// Dashboard: the fifteen slots and the service, refreshed by polling the API (no reloads).
import { $, api, errorText, every, fmtBytes, fmtTime, h, show } from "./common.js";

const POLL_MS = 2000;
const DISK_POLL_MS = 30000; // the service walks MEDIA_ROOT at most this often anyway
const COUNTS = ["succeeded", "timeout", "provider_error", "cancelled"];

let countsSeen = null;
let latest = new Map(); // slot id → newest succeeded booth job with a downloadable result
let diskCheckedAt = 0;

async function latestResults() {
  const page = await api("/api/jobs?state=succeeded&limit=200");
  const newest = new Map();
  for (const job of page.items) {
    if (!job.is_test && job.result_url && !newest.has(job.slot_id)) newest.set(job.slot_id, job);
  }
  return newest;
}

function health(tally) {
  if (!tally) return { text: "idle (1 h)", level: "idle" };
  const failed = tally.timeout + tally.provider_error + tally.storage_error;
  const finished = tally.succeeded + failed + tally.cancelled;
  if (finished === 0) return { text: "idle (1 h)", level: "idle" };
  const rate = Math.round((100 * failed) / finished);
  const parts = [`${rate} % failed (1 h)`];
  for (const [key, value] of Object.entries(tally)) {
    if (key.includes("no_image") && typeof value === "number") parts.push(`NO_IMAGE ${value}`);
  }
  return { text: parts.join(" · "), level: rate >= 20 ? "bad" : rate > 0 ? "warn" : "good" };
}

function renderCard(card, slot, tally, job) {
  $(".slot-name", card).textContent = slot.name || slot.id;
  const state = $(".state", card);
  state.textContent = slot.is_active ? "active" : "inactive";
  state.className = `badge state ${slot.is_active ? "good" : "idle"}`;
  $(".provider-operation", card).textContent = `${slot.provider} / ${slot.operation}`;
  for (const name of COUNTS) $(`.count-${name}`, card).textContent = slot.today[name];
  const { text, level } = health(tally);
  const badge = $(".health", card);
  badge.textContent = `${slot.provider}: ${text}`;
  badge.className = `health badge ${level}`;
  const thumb = $(".thumb", card);
  const shown = thumb.dataset.jobId || "";
  if (job && shown !== job.id) {
    thumb.dataset.jobId = job.id;
    thumb.replaceChildren(
      h(
        "a",
        { href: job.result_url, title: `Result of ${fmtTime(job.finalized_at)}` },
        h("img", { src: job.result_url, alt: `Last result of ${slot.id}`, loading: "lazy" }),
      ),
    );
  }
}

async function serviceStatus() {
  const ready = await fetch("/readyz", { headers: { Accept: "application/json" } });
  const body = await ready.json().catch(() => ({}));
  const checks = (body.error && body.error.details) || {};
  $("#status-database").textContent = ready.ok ? "ok" : checks.database || "not ready";
  const [pending, processing] = await Promise.all([
    api("/api/jobs?state=pending&limit=200"),
    api("/api/jobs?state=processing&limit=200"),
  ]);
  const count = (page) => `${page.items.length}${page.next ? "+" : ""}`;
  $("#status-queue").textContent = `${count(pending)} waiting · ${count(processing)} processing`;
  if (Date.now() - diskCheckedAt > DISK_POLL_MS) {
    diskCheckedAt = Date.now();
    $("#status-disk").textContent = await diskUsed(checks.media_root);
  }
  $("#status-updated").textContent = new Date().toLocaleTimeString();
}

// The bytes under MEDIA_ROOT come from the Prometheus gauge (the API has no figure for it).
async function diskUsed(mediaProblem) {
  const response = await fetch("/metrics").catch(() => null);
  let text = "—";
  if (response && response.ok) {
    const line = (await response.text())
      .split("\n")
      .find((l) => l.startsWith("photochanger_media_root_bytes "));
    if (line) text = fmtBytes(Number(line.split(" ")[1]));
  }
  return mediaProblem ? `${text} (${mediaProblem})` : text;
}

async function refresh() {
  const [slots, stats] = await Promise.all([api("/api/slots"), api("/api/stats?window=1h")]);
  const counts = JSON.stringify(slots.items.map((slot) => slot.today));
  if (counts !== countsSeen) {
    latest = await latestResults();
    countsSeen = counts;
  }
  for (const slot of slots.items) {
    const card = $(`.slot-card[data-slot-id="${slot.id}"]`);
    if (card) renderCard(card, slot, stats.providers[slot.provider], latest.get(slot.id));
  }
  document.body.dataset.loaded = "true";
  await serviceStatus();
}

every(POLL_MS, refresh, (error) => show($("#dashboard-error"), error ? errorText(error) : ""));
