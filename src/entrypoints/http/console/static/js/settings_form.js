// The settings part of the slot form, generated from the provider catalogue
// (GET /api/providers): each setting's kind picks its control — a text area for prompts, a
// template picker with thumbnails, a number (with its range when the catalogue gives one), a
// select for a few allowed words or a yes/no — so a new provider's settings need no page code.
// Nothing is checked here: the API's 422 names the field that is wrong.
import { $$, h } from "./common.js";

function labelText(spec) {
  return spec.name.replaceAll("_", " ") + (spec.required ? " (required)" : "");
}

function choiceSelect(path, spec, value, choices, disabled) {
  const options = [h("option", { value: "" }, spec.required ? "— choose —" : "— not set (provider default) —")];
  for (const choice of choices) {
    options.push(h("option", { value: String(choice), selected: String(value) === String(choice) }, String(choice)));
  }
  return h("select", { "data-setting": path, "data-kind": spec.kind, disabled }, options);
}

function control(path, spec, value, disabled) {
  const choices = spec.choices || spec.enum;
  if (choices && choices.length) return choiceSelect(path, spec, value, choices, disabled);
  if (spec.kind === "boolean") return choiceSelect(path, spec, value, [true, false], disabled);
  if (spec.kind === "integer") {
    return h("input", {
      type: "number",
      step: 1,
      min: spec.minimum,
      max: spec.maximum,
      value: value ?? "",
      "data-setting": path,
      "data-kind": "integer",
      disabled,
    });
  }
  if (spec.name.includes("prompt")) {
    const area = h("textarea", { "data-setting": path, "data-kind": "text", rows: 4, disabled });
    area.value = value ?? "";
    return area;
  }
  return h("input", { type: "text", value: value ?? "", "data-setting": path, "data-kind": "text", disabled });
}

function templatePicker(path, spec, value, ctx) {
  const input = h("input", { type: "hidden", value: value ?? "", "data-setting": path, "data-kind": "template" });
  const choices = [];
  if (!spec.required) choices.push({ id: "", label: "none" });
  for (const template of ctx.templates) choices.push(template);
  if (value && !ctx.templates.some((t) => t.id === value)) choices.push({ id: value, label: `missing template ${value}` });
  const buttons = choices.map((choice) =>
    h(
      "button",
      {
        type: "button",
        class: "template-choice",
        "aria-pressed": String((value ?? "") === choice.id),
        dataset: { templateId: choice.id },
        disabled: ctx.readOnly,
        title: choice.label,
        onclick: (event) => {
          input.value = choice.id;
          for (const b of $$("button", event.currentTarget.parentNode)) b.setAttribute("aria-pressed", String(b === event.currentTarget));
        },
      },
      // Viewers may not download template images: they see the labels.
      choice.image_url && !ctx.readOnly ? h("img", { src: choice.image_url, alt: "" }) : null,
      choice.label,
    ),
  );
  const picker = h("div", { class: "template-picker", role: "group", "aria-label": `${spec.name} choices` }, buttons);
  const parts = [input, picker];
  if (!ctx.readOnly) {
    const file = h("input", { type: "file", accept: "image/*", hidden: true, "aria-label": `Upload a template for ${spec.name}` });
    file.addEventListener("change", () => file.files[0] && ctx.upload(path, file.files[0]));
    parts.push(h("div", { class: "actions" }, file, h("button", { type: "button", onclick: () => file.click() }, "Upload a template…")));
  }
  return parts;
}

function field(path, spec, value, ctx) {
  const error = h("span", { class: "field-error", "data-error-for": path, hidden: true });
  const hint = h("span", { class: "hint" }, spec.description);
  if (spec.kind === "object") {
    const inner = spec.fields.map((sub) => field(`${path}.${sub.name}`, sub, (value || {})[sub.name], ctx));
    return h("fieldset", { dataset: { settingGroup: path } }, h("legend", {}, labelText(spec)), hint, inner, error);
  }
  if (spec.kind === "template") {
    return h("div", { class: "setting", dataset: { settingField: path } }, h("label", {}, labelText(spec), hint), templatePicker(path, spec, value, ctx), error);
  }
  return h("label", { class: "setting", dataset: { settingField: path } }, labelText(spec), hint, control(path, spec, value, ctx.readOnly), error);
}

// Replace `container`'s fields with those of `specs`, filled from `values`.
// ctx: {templates, readOnly, upload(path, file)}.
export function renderSettings(container, specs, values, ctx) {
  container.replaceChildren(...specs.map((spec) => field(spec.name, spec, values[spec.name], ctx)));
}

function parse(node) {
  const raw = node.value;
  if (raw === "") return undefined;
  if (node.dataset.kind === "integer") return Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (node.dataset.kind === "boolean") return raw === "true";
  if (node.dataset.kind === "text" && raw.trim() === "") return undefined;
  return raw;
}

// The settings object the fields describe now (unset fields left out).
export function readSettings(container) {
  const settings = {};
  for (const node of $$("[data-setting]", container)) {
    const value = parse(node);
    if (value === undefined) continue;
    const path = node.dataset.setting.split(".");
    let target = settings;
    for (const key of path.slice(0, -1)) target = target[key] ??= {};
    target[path[path.length - 1]] = value;
  }
  return settings;
}
