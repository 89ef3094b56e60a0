// A spec as a voter reads it: what runs (image:tag), on how much, where, which ports, which
// environment variables (secret ones named with their reference, never a value: there is none on
// chain), plus the problems when it breaks the rules.
import type { PolicyVerdict } from "../bot";
import { SPEC_LIMITS, type SpecProblem } from "../spec/validate";
import type { JsonObject } from "../spec/json";
import { specView } from "../spec/summary";
import { h } from "./dom";

function row(label: string, ...value: (Node | string)[]): Node[] {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function code(text: string): HTMLElement {
  return h("code", {}, text);
}

/** The readable rendering of a valid spec. */
export function specDetails(spec: JsonObject): HTMLElement {
  const view = specView(spec);
  const persistent = view.persistent
    ? `${view.persistent.size} GB ${view.persistent.class} at ${view.persistent.mountPoint}`
    : "none";
  const details = h(
    "div",
    { class: "spec-details" },
    h(
      "dl",
      { class: "facts-grid" },
      row("Image", code(`${view.image}:${view.tag}`)),
      row("Replicas", String(view.replicas)),
      row("Size per replica", view.size),
      row("Storage", `${view.storage} GB ephemeral; persistent: ${persistent}`),
      row("Region", view.region),
      row("Instance type", view.type === "spot" ? "spot (cheaper, can be preempted)" : "demand"),
      row("Cluster name", code(view.clusterName)),
      row(
        "Health check",
        view.healthCheck ? code(`GET ${view.healthCheck.path} on port ${view.healthCheck.port}`) : "none",
      ),
    ),
    h("h4", {}, "Ports"),
    h(
      "table",
      { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", { attrs: { scope: "col" } }, "Container port"), h("th", { attrs: { scope: "col" } }, "Exposed port"))),
      h(
        "tbody",
        {},
        view.ports.map((port) => h("tr", {}, h("td", {}, port.containerPort), h("td", {}, port.exposedPort))),
      ),
    ),
  );
  if (view.env.length) {
    details.append(
      h("h4", {}, "Environment variables (public)"),
      h(
        "table",
        { class: "grid" },
        h("thead", {}, h("tr", {}, h("th", { attrs: { scope: "col" } }, "Name"), h("th", { attrs: { scope: "col" } }, "Value"))),
        h(
          "tbody",
          {},
          view.env.map((variable) => h("tr", {}, h("td", {}, code(variable.key)), h("td", { class: "wrap" }, code(variable.value)))),
        ),
      ),
    );
  }
  if (view.secrets.length) {
    details.append(
      h("h4", {}, "Secret environment variables"),
      h("p", { class: "note" }, "Only references are on chain; the deploy bot fills in each value from its own environment."),
      h(
        "ul",
        { class: "plain" },
        view.secrets.map((secret) =>
          h("li", {}, code(secret.key), " from the bot's ", code(`${SPEC_LIMITS.secretEnvPrefix}${secret.reference}`)),
        ),
      ),
    );
  }
  for (const [label, values] of [
    ["Command", view.commands],
    ["Arguments", view.args],
  ] as const) {
    if (values.length) {
      details.append(h("h4", {}, label), h("ol", { class: "argv" }, values.map((value) => h("li", {}, code(value)))));
    }
  }
  return details;
}

/** The rules a spec breaks, one "path: message" per line. */
export function problemList(problems: SpecProblem[], testid?: string): HTMLElement {
  return h(
    "ul",
    { class: "problems", ...(testid ? { testid } : {}) },
    problems.map((problem) => h("li", {}, h("code", {}, problem.path), `: ${problem.message}`)),
  );
}

/** Fill `item` with the deploy bot's policy verdict once it arrives (null: no bot to ask). */
export function showPolicyVerdict(item: HTMLElement, verdict: Promise<PolicyVerdict | null> | null, refusal: string): void {
  if (!verdict) {
    item.textContent = "the operator's policy: no deploy bot to ask";
    return;
  }
  item.className = "pending";
  item.textContent = "asking the deploy bot about its policy…";
  verdict.then(
    (result) => {
      if (!result) {
        item.textContent = "the deploy bot does not publish its policy";
        return;
      }
      item.className = result.violations.length ? "bad" : "ok";
      item.textContent = result.violations.length ? refusal : "within the operator's policy";
      if (result.violations.length) item.append(h("ul", { class: "problems" }, result.violations.map((v) => h("li", {}, v))));
    },
    (error: unknown) => {
      item.className = "pending";
      item.textContent = `the deploy bot's policy could not be read: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
}
