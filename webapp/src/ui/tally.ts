// For / Against / Abstain against the quorum: one stacked bar with a quorum marker, and the
// numbers as text (the bar is decoration; its label says the same in words).
import type { ProposalRecord } from "../chain/dao";
import { quorumReached } from "../chain/governance";
import { h, setWidth } from "./dom";

export function tallyBar(p: ProposalRecord): HTMLElement {
  const total = p.forVotes + p.againstVotes + p.abstainVotes;
  const scale = Number(total > p.quorum ? total : p.quorum) || 1;
  const label =
    `For ${p.forVotes}, Against ${p.againstVotes}, Abstain ${p.abstainVotes}; ` +
    `quorum ${p.quorum} (${quorumReached(p) ? "reached" : "not reached"})`;
  const bar = h(
    "div",
    { class: "tally-bar", role: "img", aria: { label } },
    setWidth(h("span", { class: "seg seg-for" }), Number(p.forVotes) / scale),
    setWidth(h("span", { class: "seg seg-abstain" }), Number(p.abstainVotes) / scale),
    setWidth(h("span", { class: "seg seg-against" }), Number(p.againstVotes) / scale),
  );
  const marker = h("span", { class: "quorum-marker", title: `quorum ${p.quorum}` });
  marker.style.left = `${(Number(p.quorum) / scale) * 100}%`;
  bar.appendChild(marker);
  return bar;
}

/** "For 3 · Against 1 · Abstain 0 · quorum 3 (reached)" with optional test hooks per count. */
export function tallyText(p: ProposalRecord, hooks = false): HTMLElement {
  const count = (name: string, value: bigint, hook: string) =>
    h("span", { class: `count count-${name.toLowerCase()}` }, `${name} `, h("strong", hooks ? { testid: hook } : {}, value));
  return h(
    "p",
    { class: "tally-text" },
    count("For", p.forVotes, "tally-for"),
    " · ",
    count("Against", p.againstVotes, "tally-against"),
    " · ",
    count("Abstain", p.abstainVotes, "tally-abstain"),
    " · ",
    h("span", {}, `quorum ${p.quorum} (${quorumReached(p) ? "reached" : "not reached"})`),
  );
}
