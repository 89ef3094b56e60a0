// The app: reads the chain (and the bot) when a new block appears, routes between the views
// (#/, #/proposal/N, #/new), and runs the member's actions through the wallet.
import { type Log, decodeEventLog } from "viem";
import { getBlockNumber } from "viem/actions";
import { type Deployment, type PolicyVerdict, fetchDeployments, fetchPolicyVerdict } from "../bot";
import type { AppConfig } from "../config";
import { chainOf, daoAbi, daoCallAbi, nftCallAbi, readClient } from "../chain/client";
import { type DaoSnapshot, DaoReader, type ProposalRecord } from "../chain/dao";
import { type Signer, SUPPORT_NAMES, chainNow } from "../chain/governance";
import { type TxRequest, type TxStage, TxFailure, explainError, sendTransaction } from "../chain/tx";
import { Wallets } from "../chain/wallet";
import { formatRelative } from "../format";
import type { RevertContext } from "../reverts";
import { banners, errorLine, topBar, txLine } from "./chrome";
import { CreateView } from "./create";
import { h } from "./dom";
import { homeView } from "./home";
import { proposalView } from "./proposal";

/** What identifies a focusable element across re-renders (they replace every element). */
function focusKey(element: Element | null): string | null {
  if (!(element instanceof HTMLElement) || element === document.body) return null;
  if (element.id) return `#${element.id}`;
  const testid = element.dataset["testid"];
  if (testid) return `[${testid}]`;
  return `${element.tagName}:${element.getAttribute("href") ?? ""}:${element.textContent ?? ""}`;
}

type Route = { page: "home" } | { page: "proposal"; id: bigint } | { page: "new" };

function parseRoute(hash: string): Route {
  const proposal = /^#\/proposal\/(\d{1,78})$/.exec(hash); // a uint256 has at most 78 digits
  if (proposal?.[1]) return { page: "proposal", id: BigInt(proposal[1]) };
  if (hash === "#/new") return { page: "new" };
  return { page: "home" };
}

export class App {
  private readonly client;
  private readonly reader;
  private readonly wallets;
  private snapshot: DaoSnapshot | null = null;
  private loadError: string | null = null;
  private deployments: Map<string, Deployment> | null = null;
  private botError: string | null = null;
  private readonly policies = new Map<string, Promise<PolicyVerdict | null>>();
  private tx: TxStage | null = null;
  private error: string | null = null;
  private busy = false;
  private choosingWallet = false;
  private route: Route = parseRoute(window.location.hash);
  private createView: CreateView | null = null;
  private loading: Promise<void> | null = null;
  private reloadQueued = false;
  private lastBlock: bigint | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly root: HTMLElement,
  ) {
    this.client = readClient(config);
    this.reader = new DaoReader(this.client, config.daoAddress, config.nftAddress);
    this.wallets = new Wallets(chainOf(config));
  }

  start(): void {
    this.wallets.onChange((what) => {
      if (what === "found") {
        this.render();
        return;
      }
      this.choosingWallet = false;
      if (what === "connection") void this.reload(); // the member's tokens and votes
      else this.render();
    });
    this.wallets.discover();
    window.addEventListener("hashchange", () => {
      this.route = parseRoute(window.location.hash);
      this.error = null;
      this.render();
      window.scrollTo(0, 0);
      document.getElementById("main")?.focus();
    });
    window.setInterval(() => void this.poll(), this.config.pollIntervalMs);
    window.setInterval(() => this.tick(), 1000);
    this.render();
    void this.reload();
  }

  // -- data ------------------------------------------------------------------------------------

  private signer(): Signer {
    const connection = this.wallets.connection;
    if (!connection) return { kind: "none" };
    if (!this.wallets.onRightNetwork) return { kind: "wrong-network" };
    return { kind: "ready", address: connection.address };
  }

  private now(): bigint {
    return this.snapshot ? chainNow(this.snapshot.head) : BigInt(Math.floor(Date.now() / 1000));
  }

  /** Each interval: read everything if a block arrived; else look at the bot alone (it deploys
   * between blocks). */
  private async poll(): Promise<void> {
    if (this.loading) return;
    try {
      const block = await getBlockNumber(this.client, { cacheTime: 0 });
      if (block !== this.lastBlock) {
        await this.reload();
      } else if (this.config.botUrl) {
        const before = JSON.stringify([...(this.deployments ?? new Map()).values()]);
        await this.loadBot();
        if (JSON.stringify([...(this.deployments ?? new Map()).values()]) !== before) this.render();
      }
    } catch (error) {
      this.loadError = `cannot reach ${this.config.rpcUrl}: ${explainError(error, {})}`;
      this.render();
    }
  }

  /** Read everything again; calls during a load queue one more load after it. */
  private async reload(): Promise<void> {
    if (this.loading) {
      this.reloadQueued = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        const account = this.wallets.connection?.address ?? null;
        const [snapshot] = await Promise.all([this.reader.load(account), this.loadBot()]);
        this.snapshot = snapshot;
        this.lastBlock = snapshot.head.number;
        this.loadError = null;
      } catch (error) {
        this.loadError = `cannot read the DAO at ${this.config.daoAddress} through ${this.config.rpcUrl}: ${explainError(error, {})}`;
      } finally {
        this.loading = null;
      }
      this.render();
      if (this.reloadQueued) {
        this.reloadQueued = false;
        await this.reload();
      }
    })();
    return this.loading;
  }

  private async loadBot(): Promise<void> {
    if (!this.config.botUrl) return;
    try {
      this.deployments = await fetchDeployments(this.config.botUrl);
      this.botError = null;
    } catch (error) {
      this.botError = error instanceof Error ? error.message : String(error);
    }
  }

  private policy(specJson: string): Promise<PolicyVerdict | null> | null {
    const botUrl = this.config.botUrl;
    if (!botUrl) return null;
    let verdict = this.policies.get(specJson);
    if (!verdict) {
      verdict = fetchPolicyVerdict(botUrl, specJson);
      verdict.catch(() => this.policies.delete(specJson));
      this.policies.set(specJson, verdict);
    }
    return verdict;
  }

  // -- actions ---------------------------------------------------------------------------------

  private revertContext(): RevertContext {
    return { now: this.now(), numProposals: this.snapshot?.numProposals ?? null };
  }

  private vote(p: ProposalRecord, support: number): void {
    void this.run({
      label: `Vote ${SUPPORT_NAMES[support] ?? support} on proposal ${p.id}`,
      address: this.config.daoAddress,
      abi: daoCallAbi,
      functionName: "voteOnProposal",
      args: [p.id, support],
    });
  }

  private execute(p: ProposalRecord): void {
    if (!p.creation) return;
    void this.run({
      label: `Execute proposal ${p.id}`,
      address: this.config.daoAddress,
      abi: daoCallAbi,
      functionName: "executeProposal",
      args: [p.id, p.creation.specJson],
    });
  }

  private mint(quantity: bigint): void {
    if (!this.snapshot) return;
    void this.run({
      label: `Mint ${quantity} token${quantity === 1n ? "" : "s"}`,
      address: this.config.nftAddress,
      abi: nftCallAbi,
      functionName: "mint",
      args: [quantity],
      value: this.snapshot.nft.price * quantity,
    });
  }

  private delegateToSelf(): void {
    const connection = this.wallets.connection;
    if (!connection) return;
    void this.run({
      label: "Delegate to myself",
      address: this.config.nftAddress,
      abi: nftCallAbi,
      functionName: "delegate",
      args: [connection.address],
    });
  }

  private async propose(canonical: string): Promise<void> {
    const before = this.snapshot?.numProposals ?? 0n;
    const logs = await this.run({
      label: "Create proposal",
      address: this.config.daoAddress,
      abi: daoCallAbi,
      functionName: "createProposal",
      args: [canonical],
    });
    if (logs === null) return;
    let id = before + 1n;
    for (const log of logs) {
      try {
        const event = decodeEventLog({ abi: daoAbi, data: log.data, topics: log.topics });
        if (event.eventName === "ProposalCreated") id = event.args.proposalId;
      } catch {
        // another event of the same transaction
      }
    }
    this.createView?.clear();
    window.location.hash = `#/proposal/${id}`;
  }

  /** Send `request`; the DAO's logs of its receipt, or null if it failed (the error is shown). */
  private async run(request: TxRequest): Promise<Log[] | null> {
    if (this.busy) return null;
    this.busy = true;
    this.error = null;
    this.render();
    try {
      const receipt = await sendTransaction(this.client, this.wallets, request, () => this.revertContext(), (stage) => {
        this.tx = stage;
        this.render();
      });
      return receipt.logs.filter((log) => log.address.toLowerCase() === this.config.daoAddress.toLowerCase());
    } catch (error) {
      this.error = error instanceof TxFailure ? error.message : explainError(error, this.revertContext());
      return null;
    } finally {
      this.busy = false;
      await this.reload();
    }
  }

  private async connect(walletUuid?: string): Promise<void> {
    const found = this.wallets.found;
    if (!found.length) {
      this.error = "no wallet found in this browser: install one (MetaMask, Rabby, Frame, …) to vote; you can still read everything";
      this.render();
      return;
    }
    const wallet = walletUuid ? found.find((w) => w.uuid === walletUuid) : found.length === 1 ? found[0] : undefined;
    if (!wallet) {
      this.choosingWallet = !this.choosingWallet;
      this.render();
      return;
    }
    try {
      this.error = null;
      await this.wallets.connect(wallet);
    } catch (error) {
      this.error = `could not connect to ${wallet.name}: ${explainError(error, {})}`;
      this.render();
    }
  }

  private async switchNetwork(): Promise<void> {
    try {
      await this.wallets.switchNetwork(this.config);
    } catch (error) {
      this.error = `the wallet did not switch networks: ${explainError(error, {})}`;
      this.render();
    }
  }

  // -- rendering -------------------------------------------------------------------------------

  private tick(): void {
    const now = this.now();
    for (const element of this.root.querySelectorAll<HTMLElement>("[data-deadline]")) {
      const deadline = BigInt(element.dataset["deadline"] ?? "0");
      element.textContent = formatRelative(deadline, now);
      if (deadline < now && !element.dataset["closed"]) {
        element.dataset["closed"] = "1";
        this.render(); // a proposal just closed: its state and buttons change
      }
    }
  }

  private render(): void {
    const focused = focusKey(document.activeElement);
    const openDetails = new Set([...this.root.querySelectorAll("details[open]")].map((d, i) => i));
    const chromeActions = {
      connect: (uuid?: string) => void this.connect(uuid),
      disconnect: () => this.wallets.disconnect(),
      switchNetwork: () => void this.switchNetwork(),
      dismissError: () => {
        this.error = null;
        this.render();
      },
    };
    const main = h("main", { id: "main", attrs: { tabindex: "-1" } }, this.mainView());
    this.root.replaceChildren(
      h(
        "a",
        {
          href: "#main",
          class: "skip-link",
          onClick: (event) => {
            event.preventDefault(); // "#main" is not a route: move the focus instead
            document.getElementById("main")?.focus();
          },
        },
        "Skip to content",
      ),
      topBar(this.config, this.wallets, this.snapshot, this.choosingWallet, chromeActions),
      ...banners(this.config, this.wallets, chromeActions),
      errorLine(this.error ?? this.loadError, chromeActions),
      txLine(this.tx, this.config),
      main,
      h(
        "footer",
        { class: "footer" },
        h("span", { class: "mono", title: "SpheronDevsDAO" }, `DAO ${this.config.daoAddress}`),
        " · ",
        h("span", { class: "mono", title: "SpheronDevsNFT" }, `NFT ${this.config.nftAddress}`),
        this.snapshot ? ` · block ${this.snapshot.head.number}` : "",
        this.config.botUrl ? ` · deploy bot ${this.botError ? `unreachable (${this.botError})` : "connected"}` : " · no deploy bot configured",
      ),
    );
    [...this.root.querySelectorAll("details")].forEach((d, i) => {
      if (openDetails.has(i)) d.open = true;
    });
    if (focused) {
      const again = [...this.root.querySelectorAll<HTMLElement>("a, button, input, textarea, pre, main, summary")].find(
        (element) => focusKey(element) === focused,
      );
      again?.focus();
    }
  }

  private mainView(): Node {
    const signer = this.signer();
    if (this.route.page === "new") {
      if (!this.createView) {
        this.createView = new CreateView({ propose: (canonical) => void this.propose(canonical), policy: (json) => this.policy(json) });
      }
      this.createView.update(this.snapshot, signer, this.busy);
      return this.createView.element;
    }
    if (!this.snapshot) {
      return h("p", { class: "note", role: "status" }, this.loadError ? "The DAO could not be read." : "Reading the DAO…");
    }
    if (this.route.page === "proposal") {
      return proposalView(
        this.route.id,
        {
          config: this.config,
          snapshot: this.snapshot,
          now: this.now(),
          signer,
          deployments: this.deployments,
          botError: this.botError,
          busy: this.busy,
        },
        { vote: (p, s) => this.vote(p, s), execute: (p) => this.execute(p), policy: (json) => this.policy(json) },
      );
    }
    return homeView(this.snapshot, this.now(), signer, this.deployments, {
      mint: (q) => this.mint(q),
      delegateToSelf: () => this.delegateToSelf(),
    });
  }
}
