// The front page: the DAO's numbers, the member's membership (tokens, votes, delegate, mint), and
// every proposal, active ones first (soonest deadline first), then the rest newest first.
import type { Deployment } from "../bot";
import type { DaoSnapshot, ProposalRecord } from "../chain/dao";
import { type Signer, SUPPORT_NAMES, outcome, proposalState } from "../chain/governance";
import { formatDuration, formatEther, formatRelative, formatUtc, plural, shortAddress } from "../format";
import { describeError } from "../reverts";
import type { DeployRecord } from "../spec/voted";
import { append, h } from "./dom";
import { meaningText, readOnChain, votedStateLine } from "./meaning";
import { tallyBar, tallyText } from "./tally";

export interface HomeActions {
  mint(quantity: bigint): void;
  delegateToSelf(): void;
}

export function countdown(deadline: bigint, now: bigint): HTMLElement {
  return h("span", { class: "countdown", data: { deadline: deadline.toString() } }, formatRelative(deadline, now));
}

function daoFacts(snapshot: DaoSnapshot): HTMLElement {
  const { rules, nft } = snapshot;
  const fact = (label: string, value: string) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value));
  return h(
    "section",
    { class: "card", aria: { labelledby: "dao-heading" } },
    h("h2", { id: "dao-heading" }, "The DAO"),
    h(
      "dl",
      { class: "facts" },
      fact("Proposals", String(snapshot.numProposals)),
      fact("Members' tokens", `${nft.totalSupply} of ${nft.maxSupply} minted`),
      fact("Voting period", formatDuration(rules.votingPeriod)),
      fact("Quorum", `${Number(rules.quorumBps) / 100}% of the supply at the snapshot (For + Abstain)`),
      fact("To propose", plural(rules.proposalThreshold, "vote")),
      fact("Largest spec", `${rules.maxSpecBytes} bytes`),
    ),
  );
}

function membership(snapshot: DaoSnapshot, signer: Signer, act: HomeActions): HTMLElement {
  const { nft, member } = snapshot;
  const section = h(
    "section",
    { class: "card", testid: "membership", aria: { labelledby: "member-heading" } },
    h("h2", { id: "member-heading" }, "Your membership"),
  );
  if (signer.kind === "none" || !member) {
    section.append(h("p", { class: "note" }, "Connect a wallet to see your tokens and votes, and to mint."));
  } else {
    const delegatedElsewhere = member.tokens > 0n && member.delegate !== member.address;
    section.append(
      h(
        "dl",
        { class: "facts" },
        h("div", { class: "fact" }, h("dt", {}, "Tokens held"), h("dd", { testid: "member-tokens" }, String(member.tokens))),
        h("div", { class: "fact" }, h("dt", {}, "Votes now"), h("dd", { testid: "member-votes" }, String(member.votes))),
        h(
          "div",
          { class: "fact" },
          h("dt", {}, "Delegate"),
          h(
            "dd",
            { title: member.delegate },
            member.delegate === member.address ? "yourself" : member.tokens === 0n && member.delegate.startsWith("0x0000") ? "none" : shortAddress(member.delegate),
          ),
        ),
      ),
    );
    if (delegatedElsewhere) {
      section.append(
        h("p", { class: "note" }, `Your ${plural(member.tokens, "token")} vote through ${member.delegate}. Take the votes back to vote yourself:`),
        h("button", { type: "button", testid: "delegate-self", disabled: signer.kind !== "ready", onClick: () => act.delegateToSelf() }, "Delegate to myself"),
      );
    }
  }
  const remaining = nft.maxSupply - nft.totalSupply;
  const form = h("form", { class: "mint", onSubmit: (event) => event.preventDefault() });
  let reason: string | null = null;
  if (nft.paused) reason = describeError("EnforcedPause", {});
  else if (remaining === 0n) reason = `sold out: all ${nft.maxSupply} tokens are minted`;
  else if (signer.kind === "none") reason = "connect a wallet to mint";
  else if (signer.kind === "wrong-network") reason = "switch your wallet's network to mint";
  const quantity = h("input", {
    id: "mint-quantity",
    testid: "mint-quantity",
    type: "number",
    value: "1",
    attrs: { min: "1", max: String(remaining > 0n ? remaining : 1n), step: "1", inputmode: "numeric" },
  });
  const cost = h("span", { class: "note", id: "mint-cost" }, `costs ${formatEther(nft.price)}`);
  quantity.addEventListener("input", () => {
    const count = /^\d+$/.test(quantity.value) ? BigInt(quantity.value) : 0n;
    cost.textContent = `costs ${formatEther(nft.price * count)}`;
  });
  append(
    form,
    h("label", { for: "mint-quantity" }, `Mint membership tokens (${formatEther(nft.price)} each, ${remaining} left)`),
    h("div", { class: "row" }, quantity, cost),
    h(
      "button",
      {
        type: "submit",
        testid: "mint",
        disabled: reason !== null,
        aria: reason ? { describedby: "mint-reason" } : {},
        onClick: (event) => {
          event.preventDefault();
          if (/^\d+$/.test(quantity.value) && BigInt(quantity.value) > 0n) act.mint(BigInt(quantity.value));
        },
      },
      "Mint",
    ),
    reason ? h("p", { class: "reason", id: "mint-reason", testid: "mint-reason" }, reason) : null,
  );
  section.append(form);
  return section;
}

function voters(p: ProposalRecord): string {
  if (!p.votes.length) return "no votes yet";
  const shown = p.votes.slice(0, 3).map((v) => `${shortAddress(v.voter)} ${SUPPORT_NAMES[v.support] ?? v.support} ${v.weight}`);
  return `${plural(p.votes.length, "voter")}: ${shown.join(", ")}${p.votes.length > 3 ? ", …" : ""}`;
}

/** Under a proposal's title: the instance it acts on (an envelope's target as voted before it), or
 * what became of the instance it deployed. */
function instanceLine(p: ProposalRecord, events: readonly DeployRecord[]): HTMLElement | null {
  const reading = readOnChain(p, events);
  if (reading?.target) return votedStateLine(reading.target, `proposal-${p.id}-target`, "row-meta");
  if (reading?.instance) return votedStateLine(reading.instance, `proposal-${p.id}-instance`, "row-meta");
  return null;
}

function proposalRow(p: ProposalRecord, now: bigint, deployment: Deployment | undefined, events: readonly DeployRecord[]): HTMLElement {
  const state = proposalState(p, now);
  const reading = readOnChain(p, events);
  const means = reading ? meaningText(reading) : "spec not found in the logs";
  return h(
    "li",
    { class: `proposal-row state-${state.toLowerCase()}`, testid: `proposal-${p.id}` },
    h(
      "div",
      { class: "row-head" },
      h("a", { href: `#/proposal/${p.id}`, class: "row-title" }, `#${p.id} `, h("span", { class: "mono", testid: `proposal-${p.id}-means` }, means)),
      h("span", { class: `badge badge-${state.toLowerCase()}`, testid: `proposal-${p.id}-state` }, state),
      deployment ? h("span", { class: `badge badge-bot badge-${deployment.state.toLowerCase()}` }, `bot: ${deployment.state}`) : null,
    ),
    instanceLine(p, events),
    h(
      "p",
      { class: "row-meta" },
      p.creation ? h("span", { title: p.creation.proposer }, `by ${shortAddress(p.creation.proposer)}`) : null,
      ` · snapshot block ${p.snapshot} · `,
      now <= p.deadline && !p.executed
        ? ["ends ", countdown(p.deadline, now)]
        : `ended ${formatUtc(p.deadline)}`,
    ),
    tallyBar(p),
    tallyText(p),
    h("p", { class: "row-meta" }, `${outcome(p, now)} · ${voters(p)}`),
  );
}

export function homeView(snapshot: DaoSnapshot, now: bigint, signer: Signer, deployments: Map<string, Deployment> | null, act: HomeActions): HTMLElement {
  const active = snapshot.proposals.filter((p) => proposalState(p, now) === "Active").sort((a, b) => (a.deadline < b.deadline ? -1 : 1));
  const closed = snapshot.proposals.filter((p) => proposalState(p, now) !== "Active").sort((a, b) => (a.id > b.id ? -1 : 1));
  const list = (items: ProposalRecord[], empty: string) =>
    items.length
      ? h("ol", { class: "proposal-list" }, items.map((p) => proposalRow(p, now, deployments?.get(p.id.toString()), snapshot.deployEvents)))
      : h("p", { class: "note" }, empty);
  return h(
    "div",
    { class: "home" },
    h("h1", { class: "visually-hidden" }, "Proposals"),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "proposals", aria: { labelledby: "active-heading" } },
        h("h2", { id: "active-heading" }, `Active (${active.length})`),
        list(active, "No proposal is open for votes."),
        h("h2", { id: "closed-heading" }, `Closed (${closed.length})`),
        list(closed, "No closed proposal yet."),
      ),
      h("aside", { class: "side" }, daoFacts(snapshot), membership(snapshot, signer, act)),
    ),
  );
}
