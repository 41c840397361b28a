// Templates: every template image with its label, size and the slots using it; upload and
// delete (the API refuses a delete while an active slot uses the template, naming the slots).
import { $, api, canChange, errorText, fmtBytes, fmtTime, h, show } from "./common.js";

async function remove(template, tile) {
  const message = $(".tile-error", tile);
  show(message, "");
  try {
    await api(`/api/templates/${template.id}`, { method: "DELETE" });
    await load();
  } catch (error) {
    const slots = (error.details && error.details.slots) || [];
    show(message, error.code === "conflict" && slots.length ? `In use by ${slots.join(", ")}: deactivate or change them first.` : errorText(error));
  }
}

function tile(template) {
  const node = h(
    "figure",
    { class: "card tile", dataset: { templateId: template.id } },
    // Viewers may not download template images (SPEC §10): they see the facts only.
    canChange() ? h("img", { src: template.image_url, alt: template.label }) : h("div", { class: "placeholder muted" }, template.mime),
    h("p", {}, h("strong", { class: "template-label" }, template.label)),
    h("p", { class: "muted" }, `${template.mime} · ${fmtBytes(template.size_bytes)} · ${fmtTime(template.created_at)} by ${template.uploaded_by}`),
    h("p", { class: "used-by" }, template.used_by.length ? `Used by ${template.used_by.join(", ")}` : "Not used"),
    h("p", { class: "error tile-error", role: "alert", hidden: true }),
  );
  if (canChange()) {
    node.append(h("button", { type: "button", class: "danger", onclick: () => remove(template, node) }, "Delete"));
  }
  return node;
}

async function load() {
  try {
    const list = await api("/api/templates");
    const grid = $("#templates");
    grid.replaceChildren(...list.items.map(tile));
    if (!list.items.length) grid.append(h("p", { class: "muted" }, "No templates yet."));
    show($("#templates-error"), "");
    document.body.dataset.loaded = "true";
  } catch (error) {
    show($("#templates-error"), errorText(error));
  }
}

if (canChange()) {
  $("#template-upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    show($("#upload-error"), "");
    const data = new FormData();
    data.append("file", $("#template-file").files[0]);
    data.append("label", $("#template-label").value);
    try {
      await api("/api/templates", { method: "POST", form: data });
      event.target.reset();
      await load();
    } catch (error) {
      show($("#upload-error"), errorText(error));
    }
  });
}

load();
