// Stats: per slot and per provider over the last hour, day or week, as the API counts them.
import { $, $$, api, errorText, fmtMs, fmtTime, h, show } from "./common.js";
import { OUTCOMES, latencyChart, outcomesChart } from "./charts.js";

const HEADS = ["ingests", ...OUTCOMES, "p50", "p95"];

function table(node, firstHead, tallies) {
  const rows = Object.entries(tallies).map(([name, t]) =>
    h(
      "tr",
      { dataset: { key: name } },
      h("td", {}, name),
      h("td", { class: "num" }, String(t.ingests)),
      OUTCOMES.map((k) => h("td", { class: `num ${k}` }, String(t[k]))),
      h("td", { class: "num" }, fmtMs(t.p50_ms)),
      h("td", { class: "num" }, fmtMs(t.p95_ms)),
    ),
  );
  node.replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {}, firstHead), HEADS.map((k) => h("th", { class: "num" }, k.replace("_", " "))))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: HEADS.length + 1, class: "muted" }, "No jobs in this window."))),
  );
}

async function load(window) {
  for (const button of $$("[data-window]")) button.setAttribute("aria-pressed", String(button.dataset.window === window));
  try {
    const stats = await api(`/api/stats?window=${window}`);
    const label = (iso) => {
      const at = new Date(iso);
      return window === "7d" ? at.toLocaleDateString(undefined, { weekday: "short", hour: "2-digit" }) : at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    };
    $("#stats-range").textContent = `${fmtTime(stats.since)} – ${fmtTime(stats.until)} · ${stats.total.ingests} ingests`;
    $("#outcomes-chart").replaceChildren(outcomesChart(stats.series, label));
    $("#latency-chart").replaceChildren(latencyChart(stats.series, label));
    table($("#slot-stats"), "slot", stats.slots);
    table($("#provider-stats"), "provider", stats.providers);
    show($("#stats-error"), "");
    document.body.dataset.loaded = window;
  } catch (error) {
    show($("#stats-error"), errorText(error));
  }
}

for (const button of $$("[data-window]")) button.addEventListener("click", () => load(button.dataset.window));
load("24h");
