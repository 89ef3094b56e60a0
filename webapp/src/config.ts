// The app's per-network settings, read from config.json next to index.html. `ape run app` writes it
// for the network it serves; a static deployment ships its own (see README).
import { type Address, getAddress, isAddress } from "viem";

export interface AppConfig {
  /** Chain id the DAO lives on; the wallet must be on it to send transactions. */
  chainId: number;
  chainName: string;
  /** JSON-RPC endpoint for reading the chain (the wallet is used only to sign). */
  rpcUrl: string;
  daoAddress: Address;
  nftAddress: Address;
  /** Block of the DAO's deployment: where log scans start. */
  deploymentBlock: bigint;
  /** The deploy bot's status server (/deployments, /policy), or null when there is none. */
  botUrl: string | null;
  /** Block explorer base URL for addresses and transactions, or null. */
  explorerUrl: string | null;
  /** How often to look for a new block. */
  pollIntervalMs: number;
}

export class ConfigError extends Error {}

function httpUrl(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ConfigError(`config.json: ${name} must be a URL`);
  const url = new URL(value);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`config.json: ${name} must be an http(s) URL, got ${url.protocol}`);
  }
  return value.replace(/\/+$/, "");
}

function optionalUrl(value: unknown, name: string): string | null {
  return value === null || value === undefined || value === "" ? null : httpUrl(value, name);
}

function address(value: unknown, name: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new ConfigError(`config.json: ${name} must be an address`);
  }
  return getAddress(value);
}

/** Validate the parsed config.json. */
export function parseConfig(raw: unknown): AppConfig {
  if (raw === null || typeof raw !== "object") throw new ConfigError("config.json must hold an object");
  const data = raw as Record<string, unknown>;
  const chainId = data["chainId"];
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new ConfigError("config.json: chainId must be a positive integer");
  }
  const block = data["deploymentBlock"];
  if (typeof block !== "number" || !Number.isSafeInteger(block) || block < 0) {
    throw new ConfigError("config.json: deploymentBlock must be a block number");
  }
  const poll = data["pollIntervalMs"] ?? 4000;
  if (typeof poll !== "number" || poll < 100) throw new ConfigError("config.json: pollIntervalMs must be >= 100");
  return {
    chainId,
    chainName: typeof data["chainName"] === "string" ? data["chainName"] : `chain ${chainId}`,
    rpcUrl: httpUrl(data["rpcUrl"], "rpcUrl"),
    daoAddress: address(data["daoAddress"], "daoAddress"),
    nftAddress: address(data["nftAddress"], "nftAddress"),
    deploymentBlock: BigInt(block),
    botUrl: optionalUrl(data["botUrl"], "botUrl"),
    explorerUrl: optionalUrl(data["explorerUrl"], "explorerUrl"),
    pollIntervalMs: poll,
  };
}

export async function loadConfig(url = "config.json"): Promise<AppConfig> {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new ConfigError(`config.json could not be loaded (HTTP ${response.status})`);
  return parseConfig(await response.json());
}
