// The settings part of the slot form, generated from the provider catalogue
// (GET /api/providers), where each setting is described as the domain declares it: its kind
// picks the control — a text area for a prompt, a template picker with thumbnails, a number
// input with the setting's minimum/maximum, a select for an enum's choices or a yes/no, an
// object's own fields in a group — so a new provider's settings need no page code. A setting
// left empty is left out of the slot; its default (the service's, when it has one) shows as
// the placeholder. Nothing is checked here: the API's 422 names the field that is wrong.
import { $$, h } from "./common.js";

function labelText(spec) {
  return spec.name.replaceAll("_", " ") + (spec.required ? " (required)" : "");
}

function unsetText(spec) {
  if (spec.required) return "— choose —";
  return spec.default == null ? "— not set (provider default) —" : `— not set (default: ${spec.default}) —`;
}

function choiceSelect(path, spec, value, choices, disabled) {
  const options = [h("option", { value: "" }, unsetText(spec))];
  for (const choice of choices) {
    options.push(h("option", { value: String(choice), selected: String(value) === String(choice) }, String(choice)));
  }
  return h("select", { "data-setting": path, "data-kind": spec.kind, disabled }, options);
}

function control(path, spec, value, disabled) {
  const common = { "data-setting": path, "data-kind": spec.kind, disabled, placeholder: spec.default ?? undefined };
  if (spec.kind === "enum") return choiceSelect(path, spec, value, spec.choices, disabled);
  if (spec.kind === "boolean") return choiceSelect(path, spec, value, [true, false], disabled);
  if (spec.kind === "integer" || spec.kind === "number") {
    const step = spec.kind === "integer" ? 1 : "any";
    return h("input", { ...common, type: "number", step, min: spec.minimum, max: spec.maximum, value: value ?? "" });
  }
  if (spec.kind === "prompt") {
    const area = h("textarea", { ...common, rows: 4 });
    area.value = value ?? "";
    return area;
  }
  // "text", and any kind this page does not know yet: the value as typed.
  return h("input", { ...common, type: "text", value: value ?? "" });
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
  if (raw.trim() === "") return undefined;
  const kind = node.dataset.kind;
  if (kind === "integer" || kind === "number") return Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (kind === "boolean") return raw === "true";
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
