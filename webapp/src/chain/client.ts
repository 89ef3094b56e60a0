// The viem client for reads (used with viem's tree-shakable actions, `readContract(client, …)`,
// so the bundle carries only the actions the app uses): reads go to the configured RPC URL with JSON-RPC batching (calls issued in the
// same tick travel in one HTTP request), so loading the proposal list costs a few round trips
// whatever the number of proposals; the wallet is used only for accounts and signing.
import { type Chain, type Client, type Transport, createClient, defineChain, http } from "viem";
import type { AppConfig } from "../config";
import { daoAbi, nftAbi } from "../../generated/contracts";

export { daoAbi, nftAbi };

/** Each contract's ABI with the other's errors: the DAO calls the token, so a DAO call can revert
 * with the token's errors (and the reverse never hurts). */
export const daoCallAbi = [...daoAbi, ...nftAbi.filter((item) => item.type === "error")];
export const nftCallAbi = [...nftAbi, ...daoAbi.filter((item) => item.type === "error")];

export function chainOf(config: AppConfig): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
    ...(config.explorerUrl ? { blockExplorers: { default: { name: "Explorer", url: config.explorerUrl } } } : {}),
  });
}

export type ReadClient = Client<Transport, Chain>;

export function readClient(config: AppConfig): ReadClient {
  return createClient({
    chain: chainOf(config),
    transport: http(config.rpcUrl, { batch: { batchSize: 1000, wait: 0 }, retryCount: 1 }),
    pollingInterval: Math.min(config.pollIntervalMs, 1000),
  });
}
