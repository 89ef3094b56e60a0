// Wallets: discovered with EIP-6963 (every installed wallet announces itself: MetaMask, Rabby,
// Frame, ...), with the legacy window.ethereum as a fallback. The wallet gives the account and
// signs; it may be on another network, which the page reports and offers to switch.
import {
  type Address,
  type Chain,
  type EIP1193Provider,
  type Client,
  type Transport,
  type Account,
  createClient,
  custom,
  getAddress,
  numberToHex,
} from "viem";
import type { AppConfig } from "../config";

export interface WalletInfo {
  uuid: string;
  name: string;
  /** A data: URI image, or "" (anything else a wallet announces is not shown). */
  icon: string;
  rdns: string;
  provider: EIP1193Provider;
}

export interface Connection {
  wallet: WalletInfo;
  address: Address;
  chainId: number;
}

interface AnnounceDetail {
  info?: { uuid?: unknown; name?: unknown; icon?: unknown; rdns?: unknown };
  provider?: EIP1193Provider;
}

const REMEMBERED = "spheron-dao.wallet";

/** What changed: a wallet announced itself, the account, or the wallet's network. */
export type WalletChange = "found" | "connection" | "network";

function text(value: unknown, limit: number): string {
  return typeof value === "string" ? value.slice(0, limit) : "";
}

export class Wallets {
  readonly found: WalletInfo[] = [];
  connection: Connection | null = null;
  private readonly listeners = new Set<(what: WalletChange) => void>();
  private subscribed: EIP1193Provider | null = null;

  constructor(private readonly chain: Chain) {}

  onChange(listener: (what: WalletChange) => void): void {
    this.listeners.add(listener);
  }

  private changed(what: WalletChange): void {
    for (const listener of this.listeners) listener(what);
  }

  /** Listen for EIP-6963 announcements and ask wallets to announce themselves. */
  discover(): void {
    window.addEventListener("eip6963:announceProvider", (event) => {
      const detail = (event as CustomEvent<AnnounceDetail>).detail;
      if (!detail?.provider || typeof detail.provider.request !== "function") return;
      const uuid = text(detail.info?.uuid, 100);
      if (!uuid || this.found.some((wallet) => wallet.uuid === uuid)) return;
      const icon = text(detail.info?.icon, 100_000);
      this.found.push({
        uuid,
        name: text(detail.info?.name, 60) || "Wallet",
        icon: /^data:image\/(png|svg\+xml|webp|gif|jpeg);/.test(icon) ? icon : "",
        rdns: text(detail.info?.rdns, 100),
        provider: detail.provider,
      });
      this.changed("found");
    });
    window.dispatchEvent(new Event("eip6963:requestProvider"));
    const legacy = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
    window.setTimeout(() => {
      if (!this.found.length && legacy && typeof legacy.request === "function") {
        this.found.push({ uuid: "legacy", name: "Browser wallet", icon: "", rdns: "", provider: legacy });
        this.changed("found");
      }
      void this.reconnect();
    }, 200);
  }

  /** Reconnect without a prompt to the wallet used last, if it still grants the account (a
   * failure only means the member connects again). */
  private async reconnect(): Promise<void> {
    try {
      const rdns = window.localStorage.getItem(REMEMBERED);
      const wallet = this.found.find((w) => w.rdns === rdns || (rdns === "legacy" && w.uuid === "legacy"));
      if (!wallet || this.connection) return;
      const accounts = (await wallet.provider.request({ method: "eth_accounts" })) as string[];
      if (accounts.length) await this.connect(wallet, false);
    } catch {
      this.connection = null;
    }
  }

  async connect(wallet: WalletInfo, ask = true): Promise<void> {
    const provider = wallet.provider;
    const accounts = (await provider.request({ method: ask ? "eth_requestAccounts" : "eth_accounts" })) as string[];
    const first = accounts[0];
    if (!first) throw new Error("the wallet gave no account");
    const chainId = Number(await provider.request({ method: "eth_chainId" }));
    this.connection = { wallet, address: getAddress(first), chainId };
    window.localStorage.setItem(REMEMBERED, wallet.rdns || "legacy");
    this.subscribe(provider);
    this.changed("connection");
  }

  disconnect(): void {
    this.connection = null;
    window.localStorage.removeItem(REMEMBERED);
    this.changed("connection");
  }

  private subscribe(provider: EIP1193Provider): void {
    if (this.subscribed === provider) return;
    this.subscribed = provider;
    provider.on("accountsChanged", (accounts: string[]) => {
      if (!this.connection || this.connection.wallet.provider !== provider) return;
      const first = accounts[0];
      this.connection = first ? { ...this.connection, address: getAddress(first) } : null;
      this.changed("connection");
    });
    provider.on("chainChanged", (chainId: string) => {
      if (!this.connection || this.connection.wallet.provider !== provider) return;
      this.connection = { ...this.connection, chainId: Number(chainId) };
      this.changed("network");
    });
  }

  get onRightNetwork(): boolean {
    return this.connection !== null && this.connection.chainId === this.chain.id;
  }

  /** Ask the wallet to switch to the DAO's network, adding it first if the wallet lacks it. */
  async switchNetwork(config: AppConfig): Promise<void> {
    const provider = this.connection?.wallet.provider;
    if (!provider) return;
    const chainId = numberToHex(config.chainId);
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (error) {
      if ((error as { code?: number }).code !== 4902) throw error;
      await provider.request({
        method: "wallet_addEthereumChain",
        params: [
          {
            chainId,
            chainName: config.chainName,
            nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
            rpcUrls: [config.rpcUrl],
            ...(config.explorerUrl ? { blockExplorerUrls: [config.explorerUrl] } : {}),
          },
        ],
      });
    }
    const current = Number(await provider.request({ method: "eth_chainId" }));
    if (this.connection) this.connection = { ...this.connection, chainId: current };
    this.changed("network");
  }

  /** A client that signs with the connected wallet, on the DAO's chain. */
  signer(): Client<Transport, Chain, Account> | null {
    if (!this.connection) return null;
    return createClient({
      account: this.connection.address,
      chain: this.chain,
      transport: custom(this.connection.wallet.provider),
    });
  }
}
