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
import type { ValidProposal } from "../spec/proposal";
import { type Child, append, h, safeLink } from "./dom";
import { countdown } from "./home";
import {
  REJECTION_WARNING,
  type Reading,
  meaningProblems,
  meaningText,
  proposalLink,
  readOnChain,
  resultingSpec,
  targetRefused,
  votedStateLine,
} from "./meaning";
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

/** The bot's target id as a link to its proposal, or as text when it is not a proposal id. */
function targetOf(targetId: string | null): Node | string | null {
  if (targetId === null) return null;
  return /^[1-9]\d{0,77}$/.test(targetId) ? proposalLink(BigInt(targetId)) : targetId;
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
        fact("Kind", row.kind),
        fact("Instance of", targetOf(row.targetId)),
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

/** The rules check of a proposal's JSON: its own rules, then (an update) its result's. */
function rulesCheck(reading: Reading, json: string): HTMLElement {
  const check = reading.check;
  const bytes = new TextEncoder().encode(json).length;
  const item = (ok: boolean, ...children: Child[]) => h("li", { class: ok ? "ok" : "bad", testid: "spec-rules-check" }, ...children);
  if (!check.ok) return item(false, "breaks the spec rules: the deploy bot will refuse it", problemList(check.problems));
  if (check.kind === "deploy") return item(true, `passes the spec rules (${bytes} bytes)`);
  const broken = meaningProblems(reading);
  if (broken.length) {
    return item(false, "the update breaks the spec rules against the instance as voted: the deploy bot will refuse it", problemList(broken));
  }
  return item(true, `a valid ${check.kind} of the instance of proposal ${check.target} (${bytes} bytes)`);
}

/** What a vote means, the instance it acts on, and what the instance becomes. */
function meaningBlock(p: ProposalRecord, reading: Reading): Child[] {
  const check = reading.check;
  if (!check.ok) return [];
  const blocks: Child[] = [h("p", { class: "summary mono", testid: `proposal-${p.id}-means` }, meaningText(reading))];
  if (check.kind === "deploy") {
    if (reading.instance) blocks.push(votedStateLine(reading.instance, `proposal-${p.id}-instance`));
    blocks.push(specDetails(check.spec));
    return blocks;
  }
  blocks.push(
    h(
      "p",
      { class: "note" },
      `${check.kind === "update" ? "Updates" : "Closes"} the instance that `,
      proposalLink(check.target),
      " deployed; as voted before this proposal:",
    ),
  );
  if (reading.target) {
    blocks.push(votedStateLine(reading.target, `proposal-${p.id}-target`));
    if (!p.executed && targetRefused(reading.target)) blocks.push(h("p", { class: "reason", testid: `proposal-${p.id}-warning` }, REJECTION_WARNING));
  }
  const after = resultingSpec(reading);
  if (check.kind === "update" && after) blocks.push(h("h3", {}, "The instance after this update"), specDetails(after.spec));
  return blocks;
}

function specSection(p: ProposalRecord, data: ProposalPageData, act: ProposalActions): HTMLElement {
  const section = h("section", { class: "card", aria: { labelledby: "spec-heading" } }, h("h2", { id: "spec-heading" }, "What is voted on"));
  const reading = readOnChain(p, data.snapshot.deployEvents);
  if (!p.creation || !reading) {
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
  const check = reading.check;
  append(
    section,
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
      rulesCheck(reading, json),
      policyCheck(reading, act),
    ),
    meaningBlock(p, reading),
    h("h3", {}, "Exact JSON (as emitted on chain)"),
    h("pre", { class: "json", testid: "spec-json", attrs: { tabindex: "0" }, aria: { label: "Exact JSON of the proposal" } }, json),
  );
  if (check.ok) section.append(h("details", {}, h("summary", {}, "Pretty-printed"), h("pre", { class: "json" }, prettyJson(check))));
  return section;
}

/** The proposal indented for reading; an envelope's target (which a double may not hold) is
 * written from the exact id. */
function prettyJson(check: ValidProposal): string {
  if (check.kind === "deploy") return JSON.stringify(check.spec, null, 2);
  const envelope = check.kind === "update" ? { action: check.kind, target: 0, changes: check.changes } : { action: check.kind, target: 0 };
  return JSON.stringify(envelope, null, 2).replace(/\n {2}"target": 0/, `\n  "target": ${check.target}`);
}

/** The operator's policy on what would run: the spec, or the spec an update leads to. */
function policyCheck(reading: Reading, act: ProposalActions): HTMLElement {
  const item = h("li", { class: "pending", testid: "spec-policy-check" });
  const after = resultingSpec(reading);
  if (reading.check.ok && reading.check.kind === "close") {
    item.textContent = "a close: nothing new runs, so the operator's policy has nothing to check";
  } else if (after === null) {
    item.textContent = "the operator's policy is not checked for a proposal that breaks the rules";
  } else {
    showPolicyVerdict(item, act.policy(after.canonical), "the operator's policy refuses it; the bot will not deploy it:");
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
