// Dashboard: the fifteen slots and the service, refreshed by polling the API (no reloads).
import { $, api, errorText, every, fmtBytes, fmtSeconds, fmtTime, h, show } from "./common.js";

const POLL_MS = 2000;
const COUNTS = ["succeeded", "timeout", "provider_error", "cancelled"];

let countsSeen = null;
let latest = new Map(); // slot id → newest succeeded booth job with a downloadable result

async function latestResults() {
  const page = await api("/api/jobs?state=succeeded&limit=200");
  const newest = new Map();
  for (const job of page.items) {
    if (!job.is_test && job.result_url && !newest.has(job.slot_id)) newest.set(job.slot_id, job);
  }
  return newest;
}

// The provider's last hour: how many finished jobs failed, and how many jobs met an answer
// without an image (Gemini's NO_IMAGE, retried within the deadline) — a warning sign even
// when the retry saved the photo.
function health(tally) {
  if (!tally) return { text: "idle (1 h)", level: "idle" };
  const failed = tally.timeout + tally.provider_error + tally.storage_error;
  const finished = tally.succeeded + failed + tally.cancelled;
  if (finished === 0 && !tally.no_image_jobs) return { text: "idle (1 h)", level: "idle" };
  const rate = finished ? Math.round((100 * failed) / finished) : 0;
  const parts = [`${rate} % failed (1 h)`];
  let noImageRate = 0;
  if (tally.no_image_jobs) {
    noImageRate = Math.round((100 * tally.no_image_jobs) / Math.max(tally.ingests, 1));
    const answers = tally.no_image_answers;
    parts.push(`NO_IMAGE ${noImageRate} % (${answers} answer${answers === 1 ? "" : "s"})`);
  }
  const worst = Math.max(rate, noImageRate);
  return { text: parts.join(" · "), level: rate >= 20 ? "bad" : worst > 0 ? "warn" : "good" };
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

// The service itself, from GET /api/status (the service keeps its figures a few seconds).
async function serviceStatus() {
  const status = await api("/api/status");
  $("#status-database").textContent = status.database;
  const queue = status.queue;
  if (!queue) {
    $("#status-queue").textContent = "—";
  } else {
    const age = queue.oldest_pending_age_sec;
    const head = age == null ? "" : ` · oldest ${fmtSeconds(Math.round(age))}`;
    $("#status-queue").textContent = `${queue.pending} waiting · ${queue.processing} processing${head}`;
  }
  const media = status.media_root;
  const free = media.free_bytes == null ? "" : ` · ${fmtBytes(media.free_bytes)} free`;
  const problem = media.state === "ok" ? "" : ` (${media.state})`;
  const disk = $("#status-disk");
  disk.textContent = `${fmtBytes(media.used_bytes)}${free}${problem}`;
  disk.title = `MEDIA_ROOT measured ${fmtTime(media.used_measured_at)}`;
  $("#status-updated").textContent = fmtTime(status.checked_at);
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
