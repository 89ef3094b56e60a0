// Sending a transaction the way the scripts do: simulate it first against the pending block (so a
// revert is shown in words and costs no gas), then let the wallet sign, then follow it to its
// receipt, reporting each stage.
//
// The gas limit is estimated here, against the pending block, with a margin: wallets estimate
// against the latest block, where a vote checkpoint written in that block is updated in place,
// while the transaction lands in the next block and pushes a new checkpoint (about 20,000 gas
// more); `delegate` then runs out of gas.
import {
  type Abi,
  type Address,
  type Hex,
  type TransactionReceipt,
  BaseError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  InsufficientFundsError,
  UserRejectedRequestError,
} from "viem";
import {
  estimateContractGas,
  getBlock,
  simulateContract,
  waitForTransactionReceipt,
  writeContract,
} from "viem/actions";
import { type RevertContext, describeError } from "../reverts";
import type { ReadClient } from "./client";
import type { Wallets } from "./wallet";

export type TxStage =
  | { kind: "checking"; label: string }
  | { kind: "signing"; label: string }
  | { kind: "pending"; label: string; hash: Hex }
  | { kind: "confirmed"; label: string; hash: Hex; block: bigint; gasUsed: bigint }
  | { kind: "failed"; label: string; message: string; hash?: Hex };

/** Gas limit sent: the pending block's estimate plus this margin, in percent. */
const GAS_MARGIN_PERCENT = 125n;

/** A failure already put in words for the member. */
export class TxFailure extends Error {}

export interface TxRequest {
  label: string;
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
}

function namedArgs(inputs: readonly { name?: string | undefined }[] | undefined, args: readonly unknown[] | undefined): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  (args ?? []).forEach((value, index) => {
    named[inputs?.[index]?.name || `arg${index}`] = value;
  });
  return named;
}

/** A viem error (or any other) as one line in the scripts' words. */
export function explainError(error: unknown, context: RevertContext): string {
  if (error instanceof TxFailure) return error.message;
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const data = revert.data;
      if (data?.errorName === "Panic") return describeError("Panic", { code: data.args?.[0] }, context);
      if (data?.errorName === "Error") return describeError("Error", { message: data.args?.[0] }, context);
      if (data?.errorName) {
        const inputs = "inputs" in data.abiItem ? data.abiItem.inputs : undefined;
        return describeError(data.errorName, namedArgs(inputs, data.args), context);
      }
      if (revert.raw) return `the transaction reverted with undecoded data ${revert.raw}`;
      return "the transaction reverted (no reason given)";
    }
    if (error.walk((e) => e instanceof UserRejectedRequestError)) return "you rejected the request in your wallet";
    if (error.walk((e) => e instanceof ChainMismatchError)) {
      return "your wallet is on another network: switch it to the DAO's network first";
    }
    if (error.walk((e) => e instanceof InsufficientFundsError)) {
      return "insufficient funds: the account cannot pay the value plus the gas fee";
    }
    return error.shortMessage;
  }
  if (error && typeof error === "object" && (error as { code?: unknown }).code === 4001) {
    return "you rejected the request in your wallet";
  }
  return error instanceof Error ? error.message : String(error);
}

/** `context` with `now` read from the pending block: the time the reverted call ran at (it may
 * be ahead of the page's estimate, e.g. when chain time moved without a block). */
async function withPendingTime(client: ReadClient, context: RevertContext): Promise<RevertContext> {
  try {
    const pending = await getBlock(client, { blockTag: "pending" });
    return { ...context, now: pending.timestamp };
  } catch {
    return context;
  }
}

/** Simulate, sign and follow `request`; `onStage` hears of every step. Resolves with the
 * receipt of a successful transaction; rejects with a {@link TxFailure} in words otherwise. */
export async function sendTransaction(
  client: ReadClient,
  wallets: Wallets,
  request: TxRequest,
  context: () => RevertContext,
  onStage: (stage: TxStage) => void,
): Promise<TransactionReceipt> {
  const { label } = request;
  const signer = wallets.signer();
  if (!signer || !wallets.connection) throw new TxFailure("connect a wallet first");
  const account = wallets.connection.address;
  const call = {
    address: request.address,
    abi: request.abi,
    functionName: request.functionName,
    args: request.args,
    ...(request.value ? { value: request.value } : {}),
  };
  let hash: Hex | undefined;
  try {
    onStage({ kind: "checking", label });
    // The request is typed by its caller's ABI; viem's generic parameter types need casts here.
    const pending = { ...call, account, blockTag: "pending" } as const;
    await simulateContract(client, pending as unknown as Parameters<typeof simulateContract>[1]);
    const estimate = await estimateContractGas(client, pending as unknown as Parameters<typeof estimateContractGas>[1]);
    const gas = (estimate * GAS_MARGIN_PERCENT) / 100n;
    onStage({ kind: "signing", label });
    hash = await writeContract(signer, { ...call, account, chain: signer.chain, gas } as unknown as Parameters<typeof writeContract>[1]);
    onStage({ kind: "pending", label, hash });
    const receipt = await waitForTransactionReceipt(client, { hash });
    if (receipt.status !== "success") {
      throw new TxFailure(`the transaction reverted in block ${receipt.blockNumber}`);
    }
    onStage({ kind: "confirmed", label, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
    return receipt;
  } catch (error) {
    const message = explainError(error, await withPendingTime(client, context()));
    onStage(hash ? { kind: "failed", label, message, hash } : { kind: "failed", label, message });
    throw new TxFailure(message);
  }
}
