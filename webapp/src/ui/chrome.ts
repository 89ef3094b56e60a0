// The frame around every view: the top bar (navigation, network, wallet), the banners (wrong
// network, read-only), the error line and the transaction progress.
import type { AppConfig } from "../config";
import type { DaoSnapshot } from "../chain/dao";
import type { TxStage } from "../chain/tx";
import type { Wallets } from "../chain/wallet";
import { plural, shortAddress } from "../format";
import { dataImage, h } from "./dom";

export interface ChromeActions {
  connect(walletUuid?: string): void;
  disconnect(): void;
  switchNetwork(): void;
  dismissError(): void;
}

export function topBar(config: AppConfig, wallets: Wallets, snapshot: DaoSnapshot | null, choosing: boolean, act: ChromeActions): HTMLElement {
  const connection = wallets.connection;
  let walletArea: HTMLElement;
  if (connection) {
    const votes = snapshot?.member?.address === connection.address ? snapshot.member.votes : null;
    walletArea = h(
      "div",
      { class: "wallet" },
      h(
        "span",
        { class: "account", title: connection.address, testid: "account" },
        dataImage(connection.wallet.icon, ""),
        `${shortAddress(connection.address)}`,
        votes === null ? "" : ` · ${plural(votes, "vote")}`,
      ),
      h("button", { type: "button", class: "secondary", onClick: () => act.disconnect() }, "Disconnect"),
    );
  } else {
    walletArea = h(
      "div",
      { class: "wallet" },
      h(
        "button",
        {
          type: "button",
          testid: "connect",
          aria: { expanded: String(choosing), haspopup: "true" },
          onClick: () => act.connect(),
        },
        "Connect wallet",
      ),
      choosing && wallets.found.length > 1
        ? h(
            "ul",
            { class: "wallet-choices", aria: { label: "Wallets found in this browser" } },
            wallets.found.map((wallet) =>
              h(
                "li",
                {},
                h(
                  "button",
                  { type: "button", testid: `wallet-choice-${wallet.rdns || wallet.uuid}`, onClick: () => act.connect(wallet.uuid) },
                  dataImage(wallet.icon, ""),
                  wallet.name,
                ),
              ),
            ),
          )
        : null,
    );
  }
  return h(
    "header",
    { class: "topbar" },
    h("a", { href: "#/", class: "brand" }, snapshot ? `${snapshot.nft.name} DAO` : "DAO"),
    h("nav", { aria: { label: "Main" } }, h("a", { href: "#/" }, "Proposals"), h("a", { href: "#/new" }, "New proposal")),
    h("span", { class: "network", title: `chain id ${config.chainId}` }, `${config.chainName} · chain ${config.chainId}`),
    walletArea,
  );
}

export function banners(config: AppConfig, wallets: Wallets, act: ChromeActions): HTMLElement[] {
  const connection = wallets.connection;
  if (connection && connection.chainId !== config.chainId) {
    return [
      h(
        "div",
        { class: "banner warning", role: "status", testid: "wrong-network" },
        h(
          "p",
          {},
          `Your wallet is on chain ${connection.chainId}; this DAO lives on ${config.chainName} (chain ${config.chainId}). `,
          "Switch networks to vote, propose or mint.",
        ),
        h("button", { type: "button", testid: "switch-network", onClick: () => act.switchNetwork() }, `Switch to ${config.chainName}`),
      ),
    ];
  }
  if (!connection && !wallets.found.length) {
    return [
      h(
        "div",
        { class: "banner info", role: "status", testid: "read-only" },
        h(
          "p",
          {},
          "Read-only: no wallet was found in this browser. You can read every proposal, its spec and the votes; ",
          "to vote, propose or mint, install a wallet (MetaMask, Rabby, Frame, …) and reload.",
        ),
      ),
    ];
  }
  return [];
}

export function errorLine(error: string | null, act: ChromeActions): HTMLElement {
  const box = h("div", { class: "error-line", role: "alert", hidden: !error });
  if (error) {
    box.append(
      h("p", { testid: "error" }, error),
      h("button", { type: "button", class: "secondary", onClick: () => act.dismissError() }, "Dismiss"),
    );
  }
  return box;
}

export function txLine(stage: TxStage | null, config: AppConfig): HTMLElement {
  const box = h("div", { class: "tx-line", testid: "tx-status", aria: { live: "polite" }, hidden: !stage });
  if (!stage) return box;
  const hash = "hash" in stage && stage.hash ? stage.hash : null;
  const hashText = hash
    ? config.explorerUrl
      ? (() => {
          const link = h("a", { class: "mono", attrs: { rel: "noopener noreferrer", target: "_blank" } }, shortAddress(hash));
          link.href = `${config.explorerUrl}/tx/${hash}`;
          return link;
        })()
      : h("span", { class: "mono", title: hash }, shortAddress(hash))
    : null;
  const words: Record<TxStage["kind"], string> = {
    checking: "checking that it would succeed…",
    signing: "confirm it in your wallet…",
    pending: "sent, waiting for a block…",
    confirmed: "",
    failed: "failed: ",
  };
  box.classList.add(`tx-${stage.kind}`);
  box.append(h("strong", {}, `${stage.label}: `));
  if (stage.kind === "confirmed") {
    box.append(`confirmed in block ${stage.block} (gas used ${stage.gasUsed.toLocaleString("en")}) `, hashText ?? "");
  } else {
    box.append(words[stage.kind], stage.kind === "failed" ? stage.message : "", hashText ? " " : "", hashText ?? "");
  }
  if (stage.kind === "checking" || stage.kind === "signing" || stage.kind === "pending") {
    box.append(h("span", { class: "spinner", aria: { hidden: "true" } }));
  }
  return box;
}
