// Audit log: the API's entries, newest first, a page at a time.
import { $, api, errorText, fmtTime, h, show } from "./common.js";

let cursor = null;

function change(value) {
  if (value === null || value === undefined) return "—";
  return Object.entries(value)
    .map(([key, v]) => `${key}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join("; ");
}

async function load(append) {
  const params = new URLSearchParams({ limit: "50" });
  if (append && cursor !== null) params.set("before", String(cursor));
  try {
    const page = await api(`/api/audit?${params}`);
    const rows = page.items.map((entry) =>
      h(
        "tr",
        { dataset: { action: entry.action, target: entry.target } },
        h("td", {}, fmtTime(entry.at)),
        h("td", {}, entry.actor),
        h("td", {}, entry.action),
        h("td", {}, entry.target),
        h("td", { class: "audit-change" }, change(entry.before)),
        h("td", { class: "audit-change" }, change(entry.after)),
      ),
    );
    const body = $("#audit");
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nothing changed yet.")));
    cursor = page.next;
    $("#audit-more").hidden = cursor === null;
    document.body.dataset.loaded = "true";
  } catch (error) {
    show($("#audit-error"), errorText(error));
  }
}

$("#audit-more").addEventListener("click", () => load(true));
load(false);
