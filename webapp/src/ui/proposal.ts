// One proposal: its timeline, the tally against the quorum, voting and execution (or why not),
// the bot's deployment, and the exact spec with its hash checked against the chain, the rules
// and the operator's policy.
import { keccak256, stringToBytes } from "viem";
import type { Deployment, PolicyVerdict } from "../bot";
import type { AppConfig } from "../config";
import type { DaoSnapshot, MemberFacts, ProposalRecord } from "../chain/dao";
import {
  type Signer,
  SUPPORT_NAMES,
  VOTE_ABSTAIN,
  VOTE_AGAINST,
  VOTE_FOR,
  executePermission,
  outcome,
  proposalState,
  votePermission,
} from "../chain/governance";
import { formatDuration, formatUtc, formatWhen, plural } from "../format";
import { describeError } from "../reverts";
import { checkSpec } from "../spec/validate";
import { specSummary } from "../spec/summary";
import { h, safeLink } from "./dom";
import { countdown } from "./home";
import { problemList, showPolicyVerdict, specDetails } from "./spec-view";
import { tallyBar, tallyText } from "./tally";

export interface ProposalActions {
  vote(p: ProposalRecord, support: number): void;
  execute(p: ProposalRecord): void;
  /** The bot's policy verdict on a spec (cached); null when there is no bot to ask. */
  policy(specJson: string): Promise<PolicyVerdict | null> | null;
}

export interface ProposalPageData {
  config: AppConfig;
  snapshot: DaoSnapshot;
  now: bigint;
  signer: Signer;
  deployments: Map<string, Deployment> | null;
  botError: string | null;
  busy: boolean;
}

function reasonLine(text: string, detail: string | undefined, testid: string): HTMLElement {
  return h("p", { class: "reason", testid }, text, detail ? h("span", { class: "detail" }, ` — ${detail}`) : null);
}

function timeline(p: ProposalRecord, snapshot: DaoSnapshot, now: bigint): HTMLElement {
  const created = p.deadline - snapshot.rules.votingPeriod;
  const step = (title: string, when: string, done: boolean) =>
    h("li", { class: done ? "done" : "todo" }, h("strong", {}, title), h("span", {}, when));
  return h(
    "ol",
    { class: "timeline", aria: { label: "Timeline" } },
    step(
      "Created",
      `${formatUtc(created)}${p.creation ? ` · block ${p.creation.block} by ${p.creation.proposer}` : ""} · votes counted at block ${p.snapshot}`,
      true,
    ),
    step("Voting ends", formatWhen(p.deadline, now), now > p.deadline || p.executed),
    step(
      "Executed",
      p.executed
        ? `${p.execution ? `block ${p.execution.block}: ` : ""}${p.passed ? "passed, DeployEvent emitted" : "did not pass, nothing deployed"}`
        : "not yet",
      p.executed,
    ),
  );
}

function voteSection(p: ProposalRecord, member: MemberFacts | null, data: ProposalPageData, act: ProposalActions): HTMLElement {
  const permission = votePermission(p, member, data.signer, data.now);
  const button = (support: number, testid: string) =>
    h(
      "button",
      {
        type: "button",
        testid,
        class: `vote vote-${testid.slice(5)}`,
        disabled: !permission.allowed || data.busy,
        aria: { describedby: "vote-reason" },
        onClick: () => act.vote(p, support),
      },
      SUPPORT_NAMES[support] ?? "",
    );
  return h(
    "section",
    { class: "card", aria: { labelledby: "vote-heading" } },
    h("h2", { id: "vote-heading" }, "Vote"),
    h("div", { class: "row" }, button(VOTE_FOR, "vote-for"), button(VOTE_AGAINST, "vote-against"), button(VOTE_ABSTAIN, "vote-abstain")),
    h("div", { id: "vote-reason" }, reasonLine(permission.reason, permission.allowed ? undefined : permission.detail, "vote-reason")),
    h("p", { class: "note" }, "Abstain counts toward the quorum but neither for nor against. One vote per account; it cannot be changed."),
  );
}

function executeSection(p: ProposalRecord, member: MemberFacts | null, data: ProposalPageData, act: ProposalActions): HTMLElement {
  const permission = executePermission(p, member, data.signer, data.now);
  return h(
    "section",
    { class: "card", aria: { labelledby: "execute-heading" } },
    h("h2", { id: "execute-heading" }, "Execute"),
    h(
      "button",
      { type: "button", testid: "execute", disabled: !permission.allowed || data.busy, aria: { describedby: "execute-reason" }, onClick: () => act.execute(p) },
      "Execute",
    ),
    h("div", { id: "execute-reason" }, reasonLine(permission.reason, permission.allowed ? undefined : permission.detail, "execute-reason")),
  );
}

/** The bot's ISO time as "2026-11-24 00:43:05 UTC" (as given if it does not parse). */
function readableTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatUtc(Math.floor(ms / 1000));
}

function deploymentSection(p: ProposalRecord, data: ProposalPageData): HTMLElement {
  const section = h(
    "section",
    { class: "card", testid: `deployment-${p.id}`, aria: { labelledby: "deployment-heading" } },
    h("h2", { id: "deployment-heading" }, "Deployment"),
  );
  const row = data.deployments?.get(p.id.toString());
  if (!data.config.botUrl) {
    section.append(h("p", { class: "note" }, "No deploy bot is configured for this page."));
  } else if (data.botError && !data.deployments) {
    section.append(h("p", { class: "note" }, `The deploy bot's status server did not answer: ${data.botError}`));
  } else if (row) {
    const fact = (label: string, value: Node | string | null) =>
      value === null ? null : h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value));
    section.append(
      h(
        "dl",
        { class: "facts" },
        fact("State", h("span", { class: `badge badge-bot badge-${row.state.toLowerCase()}`, testid: `deployment-${p.id}-state` }, row.state)),
        fact("Spheron status", row.deploymentStatus),
        fact("Instance", row.instanceId ? h("span", { class: "mono" }, row.instanceId) : null),
        fact("Reason", row.reason ? h("span", { class: "wrap" }, row.reason) : null),
        fact("Updated", row.updatedAt ? readableTime(row.updatedAt) : null),
      ),
    );
    if (row.urls.length) {
      section.append(h("h3", {}, "URLs"), h("ul", { class: "plain", testid: `deployment-${p.id}-urls` }, row.urls.map((url) => h("li", {}, safeLink(url)))));
    }
  } else if (p.executed && !p.passed) {
    section.append(h("p", {}, "Nothing to deploy: the proposal did not pass, so no DeployEvent was emitted."));
  } else if (p.executed) {
    section.append(h("p", {}, "Executed: the deploy bot has not recorded this DeployEvent yet."));
  } else {
    section.append(h("p", { class: "note" }, "Not executed yet: the bot deploys once a passed proposal is executed."));
  }
  return section;
}

function specSection(p: ProposalRecord, data: ProposalPageData, act: ProposalActions): HTMLElement {
  const section = h("section", { class: "card", aria: { labelledby: "spec-heading" } }, h("h2", { id: "spec-heading" }, "The spec voted on"));
  if (!p.creation) {
    section.append(
      h("p", { class: "reason", testid: "spec-hash-check" }, `No ProposalCreated event of proposal ${p.id} carries JSON with the stored spec hash ${p.specHash}.`),
    );
    for (const text of p.mismatchedJson) {
      section.append(h("p", { class: "note" }, "An event with other JSON (not what is voted on):"), h("pre", { class: "json" }, text));
    }
    return section;
  }
  const json = p.creation.specJson;
  const hash = keccak256(stringToBytes(json));
  const check = checkSpec(json, Number(data.snapshot.rules.maxSpecBytes));
  section.append(
    h(
      "ul",
      { class: "checks" },
      h(
        "li",
        { class: hash === p.specHash ? "ok" : "bad", testid: "spec-hash-check" },
        hash === p.specHash
          ? `keccak256 of this JSON matches the on-chain specHash ${p.specHash}`
          : `MISMATCH: this JSON hashes to ${hash}, the chain holds ${p.specHash}`,
      ),
      h(
        "li",
        { class: check.ok ? "ok" : "bad", testid: "spec-rules-check" },
        check.ok ? `passes the spec rules (${new TextEncoder().encode(json).length} bytes)` : "breaks the spec rules: the deploy bot will refuse it",
        check.ok ? null : problemList(check.problems),
      ),
      policyCheck(check.ok ? check.canonical : null, act),
    ),
  );
  if (check.ok) {
    section.append(h("p", { class: "summary mono" }, specSummary(check.spec)), specDetails(check.spec));
  }
  section.append(
    h("h3", {}, "Exact JSON (as emitted on chain)"),
    h("pre", { class: "json", testid: "spec-json", attrs: { tabindex: "0" }, aria: { label: "Exact JSON of the spec" } }, json),
  );
  if (check.ok) {
    section.append(h("details", {}, h("summary", {}, "Pretty-printed"), h("pre", { class: "json" }, JSON.stringify(check.spec, null, 2))));
  }
  return section;
}

function policyCheck(canonical: string | null, act: ProposalActions): HTMLElement {
  const item = h("li", { class: "pending", testid: "spec-policy-check" });
  if (canonical === null) {
    item.textContent = "the operator's policy is not checked for a spec that breaks the rules";
  } else {
    showPolicyVerdict(item, act.policy(canonical), "the operator's policy refuses it; the bot will not deploy it:");
  }
  return item;
}

function votesTable(p: ProposalRecord): HTMLElement {
  return h(
    "section",
    { class: "card", aria: { labelledby: "voters-heading" } },
    h("h2", { id: "voters-heading" }, `Who voted (${p.votes.length})`),
    p.votes.length
      ? h(
          "table",
          { class: "grid", testid: "voters" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { attrs: { scope: "col" } }, "Voter"),
              ...["Vote", "Weight", "Block"].map((title) => h("th", { class: "nowrap", attrs: { scope: "col" } }, title)),
            ),
          ),
          h(
            "tbody",
            {},
            p.votes.map((vote) =>
              h(
                "tr",
                {},
                h("td", { class: "mono voter" }, vote.voter),
                h("td", { class: "nowrap" }, SUPPORT_NAMES[vote.support] ?? String(vote.support)),
                h("td", { class: "nowrap" }, String(vote.weight)),
                h("td", { class: "nowrap" }, String(vote.block)),
              ),
            ),
          ),
        )
      : h("p", { class: "note" }, "No votes yet."),
  );
}

export function proposalView(id: bigint, data: ProposalPageData, act: ProposalActions): HTMLElement {
  const p = data.snapshot.proposals.find((candidate) => candidate.id === id);
  if (!p) {
    return h(
      "div",
      { class: "proposal" },
      h("p", {}, h("a", { href: "#/" }, "← All proposals")),
      h("h1", {}, `Proposal ${id}`),
      h("p", { class: "reason" }, describeError("SpheronDevsDAONonexistentProposal", { proposalId: id }, { numProposals: data.snapshot.numProposals })),
    );
  }
  const state = proposalState(p, data.now);
  const member = data.snapshot.member;
  const open = state === "Active";
  return h(
    "div",
    { class: "proposal" },
    h("p", {}, h("a", { href: "#/" }, "← All proposals")),
    h(
      "h1",
      {},
      `Proposal ${p.id} `,
      h("span", { class: `badge badge-${state.toLowerCase()}`, testid: `proposal-${p.id}-state` }, state),
    ),
    h(
      "p",
      { class: "lead" },
      open ? ["Voting closes ", countdown(p.deadline, data.now), ` (${formatUtc(p.deadline)}). `] : null,
      `Voting period ${formatDuration(data.snapshot.rules.votingPeriod)}; votes counted at block ${p.snapshot}.`,
    ),
    timeline(p, data.snapshot, data.now),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "main-column" },
        h(
          "section",
          { class: "card", aria: { labelledby: "tally-heading" } },
          h("h2", { id: "tally-heading" }, "Tally"),
          tallyBar(p),
          tallyText(p, true),
          h("p", { class: "outcome", testid: "outcome" }, outcome(p, data.now)),
          h("p", { class: "note" }, `Passes when For + Abstain reach the quorum (${plural(p.quorum, "vote")}) and For outnumbers Against.`),
        ),
        specSection(p, data, act),
      ),
      h("div", { class: "side" }, voteSection(p, member, data, act), executeSection(p, member, data, act), deploymentSection(p, data), votesTable(p)),
    ),
  );
}
