// Creating a proposal: a spec (a deployment) or an update or close envelope, pasted or loaded from
// a file, is checked as it is typed, with the field errors the scripts print; the page shows what
// a vote would mean (for an envelope, a diff against the instance as voted on chain, and a warning
// when the bot would reject it as things stand), the canonical form (what goes on chain), its size
// against the DAO's maxSpecBytes, its hash, the secrets the bot will need, the operator's policy
// verdict on what would run and whether the member has the votes to propose. An update whose
// result breaks the spec rules cannot be submitted, as with `ape run create_proposal`. The form
// element stays in place while the chain refreshes: only the checks are redrawn.
import { keccak256, stringToBytes } from "viem";
import type { PolicyVerdict } from "../bot";
import type { DaoSnapshot } from "../chain/dao";
import { type Signer, proposePermission } from "../chain/governance";
import { checkProposal } from "../spec/proposal";
import { SPEC_LIMITS } from "../spec/validate";
import { specView } from "../spec/summary";
import { h, replace } from "./dom";
import { REJECTION_WARNING, meaningProblems, meaningText, readProposal, resultingSpec, targetRefused, votedStateLine } from "./meaning";
import { problemList, showPolicyVerdict, specDetails } from "./spec-view";

export interface CreateActions {
  propose(canonical: string): void;
  policy(specJson: string): Promise<PolicyVerdict | null> | null;
}

const CHECK_DELAY_MS = 150;

export class CreateView {
  readonly element: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly checks: HTMLElement;
  private readonly submitArea: HTMLElement;
  private snapshot: DaoSnapshot | null = null;
  private signer: Signer = { kind: "none" };
  private busy = false;
  private timer: number | undefined;

  constructor(private readonly act: CreateActions) {
    this.input = h("textarea", {
      id: "spec-input",
      testid: "create-spec-input",
      attrs: { rows: "18", spellcheck: "false", autocomplete: "off", autocapitalize: "off" },
      aria: { describedby: "spec-help" },
      onInput: () => this.schedule(),
    });
    const file = h("input", { id: "spec-file", type: "file", attrs: { accept: "application/json,.json" } });
    file.addEventListener("change", () => void this.load(file));
    this.checks = h("div", { class: "checks-panel", aria: { live: "polite" } });
    this.submitArea = h("div", { class: "submit-area" });
    this.element = h(
      "div",
      { class: "create" },
      h("p", {}, h("a", { href: "#/" }, "← All proposals")),
      h("h1", {}, "New proposal"),
      h(
        "p",
        { class: "lead", id: "spec-help" },
        "Paste a Spheron instance spec (JSON) to deploy it, or an envelope to update or close an instance a proposal deployed: ",
        h("code", {}, '{"action": "update", "target": 1, "changes": {"tag": "1.28"}}'),
        " or ",
        h("code", {}, '{"action": "close", "target": 1}'),
        ". It is checked as you type with the rules the deploy bot applies. ",
        "What goes on chain is its canonical form (sorted keys, no whitespace), bound by its keccak256 hash. ",
        "Never put a secret in a spec: use ${secret:NAME} references in secretEnvironmentVariables.",
      ),
      h(
        "div",
        { class: "columns" },
        h(
          "div",
          { class: "main-column" },
          h("label", { for: "spec-file" }, "Load a JSON file"),
          file,
          h("label", { for: "spec-input" }, "Proposal JSON"),
          this.input,
          this.submitArea,
        ),
        h("div", { class: "side" }, this.checks),
      ),
    );
    this.render();
  }

  /** New chain state or wallet: redraw the checks, keep the text. */
  update(snapshot: DaoSnapshot | null, signer: Signer, busy: boolean): void {
    this.snapshot = snapshot;
    this.signer = signer;
    this.busy = busy;
    this.render();
  }

  /** Empty the form (after a proposal was created). */
  clear(): void {
    this.input.value = "";
    this.render();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.render(), CHECK_DELAY_MS);
  }

  private async load(file: HTMLInputElement): Promise<void> {
    const chosen = file.files?.[0];
    if (!chosen) return;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    try {
      this.input.value = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      this.input.value = "";
      replace(this.checks, problemList([{ path: "spec", message: `${chosen.name} is not valid UTF-8` }], "spec-errors"));
      return;
    }
    this.render();
  }

  private render(): void {
    const text = this.input.value;
    const maxBytes = this.snapshot ? Number(this.snapshot.rules.maxSpecBytes) : SPEC_LIMITS.maxSpecBytes;
    const permission = proposePermission(this.snapshot?.member ?? null, this.signer, this.snapshot?.rules.proposalThreshold ?? 1n);
    const threshold = h("p", { class: permission.allowed ? "ok" : "reason", testid: "create-threshold" }, permission.reason);
    if (!text.trim()) {
      replace(this.checks, h("h2", {}, "Checks"), h("p", { class: "note" }, "Paste or load a spec to check it."), threshold);
      this.renderSubmit(false, "paste or load a spec first");
      return;
    }
    const check = checkProposal(text, maxBytes);
    if (!check.ok) {
      const count = check.problems.length;
      replace(
        this.checks,
        h("h2", {}, "Checks"),
        h("p", { class: "bad", testid: "spec-verdict" }, `invalid proposal (${count} ${count === 1 ? "problem" : "problems"}):`),
        problemList(check.problems, "spec-errors"),
        h("p", { class: "note", testid: "create-size" }, `${check.bytes} bytes as typed; this DAO accepts at most ${maxBytes}`),
        threshold,
      );
      this.renderSubmit(false, "fix the proposal first");
      return;
    }
    const reading = readProposal(check, this.snapshot?.deployEvents ?? null, null);
    const broken = meaningProblems(reading);
    if (broken.length) {
      replace(
        this.checks,
        h("h2", {}, "Checks"),
        h("p", { class: "bad", testid: "spec-verdict" }, "the update breaks the spec rules against the instance as voted (the deploy bot would refuse it):"),
        problemList(broken, "spec-errors"),
        reading.target ? votedStateLine(reading.target, "create-target") : null,
        threshold,
      );
      this.renderSubmit(false, "fix the proposal first");
      return;
    }
    const after = resultingSpec(reading);
    const secrets = after ? specView(after.spec).secrets.map((s) => `${SPEC_LIMITS.secretEnvPrefix}${s.reference}`) : [];
    const policy = h("p", { class: "pending", testid: "spec-policy-check" }, "");
    replace(
      this.checks,
      h("h2", {}, "Checks"),
      h("p", { class: "ok", testid: "spec-verdict" }, `valid ${check.kind === "deploy" ? "spec" : check.kind}: `, h("span", { class: "mono", testid: "create-means" }, meaningText(reading))),
      reading.target ? votedStateLine(reading.target, "create-target") : null,
      targetRefused(reading.target) ? h("p", { class: "reason", testid: "create-warning" }, REJECTION_WARNING) : null,
      check.kind !== "deploy" && !this.snapshot ? h("p", { class: "note" }, "the DAO is being read: the diff against the instance as voted follows") : null,
      h(
        "p",
        { class: check.canonicalBytes <= maxBytes ? "ok" : "bad", testid: "create-size" },
        `${check.canonicalBytes} bytes as canonical JSON; this DAO accepts at most ${maxBytes}`,
      ),
      h("p", { class: "note" }, "spec hash ", h("span", { class: "mono", testid: "create-hash" }, keccak256(stringToBytes(check.canonical)))),
      secrets.length ? h("p", { class: "note" }, `the deploy bot must have ${[...new Set(secrets)].join(", ")} set (values never go on chain)`) : null,
      check.kind === "close" ? null : policy,
      threshold,
      h("h3", {}, "Canonical form (what is submitted)"),
      h("pre", { class: "json", testid: "create-canonical", attrs: { tabindex: "0" }, aria: { label: "Canonical JSON" } }, check.canonical),
      after ? h("h3", {}, check.kind === "deploy" ? "What it deploys" : "The instance after this update") : null,
      after ? specDetails(after.spec) : null,
    );
    if (after) {
      showPolicyVerdict(policy, this.act.policy(after.canonical), "the operator's policy refuses it (the vote may pass, but the bot will not deploy it):");
    }
    this.renderSubmit(permission.allowed && !this.busy, permission.allowed ? (this.busy ? "a transaction is in progress" : "") : permission.reason, check.canonical);
  }

  private renderSubmit(enabled: boolean, reason: string, canonical?: string): void {
    replace(this.submitArea, 
      h(
        "button",
        {
          type: "button",
          testid: "create-submit",
          disabled: !enabled,
          aria: reason ? { describedby: "create-reason" } : {},
          onClick: () => canonical !== undefined && this.act.propose(canonical),
        },
        "Submit proposal",
      ),
      reason ? h("p", { class: "reason", id: "create-reason" }, reason) : null,
    );
  }
}
