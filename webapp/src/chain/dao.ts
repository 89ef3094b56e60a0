// Reads the DAO: its rules, the membership token, every proposal with its exact spec and votes, the
// DeployEvents in execution order (what the DAO voted for each instance, see ../spec/voted.ts),
// and the connected member's tokens and voting power. A load is two rounds of batched JSON-RPC
// (three the first time an account's voting power at new snapshots is needed), whatever the number
// of proposals: logs for creations, votes, executions and DeployEvents, then one batch of
// getProposal calls. What cannot change
// any more (the rules, the logs already scanned, executed proposals, votes at past snapshots) is
// kept between loads.
import { type Address, type Hex, getAddress, keccak256, stringToBytes, zeroAddress } from "viem";
import { getBalance, getBlock, getContractEvents, readContract } from "viem/actions";
import type { DeployRecord } from "../spec/voted";
import { type ReadClient, daoAbi, nftAbi } from "./client";

export interface DaoRules {
  token: Address;
  votingPeriod: bigint;
  quorumBps: bigint;
  proposalThreshold: bigint;
  maxSpecBytes: bigint;
  deploymentBlock: bigint;
}

export interface NftFacts {
  address: Address;
  name: string;
  symbol: string;
  price: bigint;
  maxSupply: bigint;
  totalSupply: bigint;
  paused: boolean;
}

export interface Head {
  number: bigint;
  timestamp: bigint;
  /** Date.now() when the head was read, to estimate chain time in between. */
  seenAtMs: number;
}

export interface VoteRecord {
  voter: Address;
  /** 0 Against, 1 For, 2 Abstain (the contract's VoteType). */
  support: number;
  weight: bigint;
  block: bigint;
}

export interface ProposalRecord {
  id: bigint;
  specHash: Hex;
  snapshot: bigint;
  deadline: bigint;
  quorum: bigint;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  executed: boolean;
  passed: boolean;
  /** From the ProposalCreated event whose JSON hashes to specHash (null if none was found). */
  creation: { proposer: Address; block: bigint; tx: Hex; specJson: string } | null;
  /** JSON from ProposalCreated events of this id that do NOT hash to specHash (never trusted). */
  mismatchedJson: string[];
  /** Where ProposalExecuted was emitted, once executed. */
  execution: { block: bigint; tx: Hex } | null;
  votes: VoteRecord[];
}

export interface MemberFacts {
  address: Address;
  tokens: bigint;
  votes: bigint;
  delegate: Address;
  ether: bigint;
  /** Votes at each proposal's snapshot, by proposal id. */
  votesAtSnapshot: Map<bigint, bigint>;
}

export interface DaoSnapshot {
  head: Head;
  rules: DaoRules;
  nft: NftFacts;
  numProposals: bigint;
  proposals: ProposalRecord[];
  /** Every DeployEvent so far, in execution order. */
  deployEvents: readonly DeployRecord[];
  member: MemberFacts | null;
}

interface Creation {
  proposer: Address;
  block: bigint;
  tx: Hex;
  specJson: string;
  hash: Hex;
}

/** Largest number of times a log range is halved when a node refuses it as too large. */
const MAX_LOG_SPLITS = 12;

export class DaoReader {
  private rules: DaoRules | null = null;
  private nftStatic: Omit<NftFacts, "totalSupply" | "paused"> | null = null;
  private scannedTo: bigint | null = null;
  private readonly creations = new Map<bigint, Creation[]>();
  private readonly votes = new Map<bigint, VoteRecord[]>();
  private readonly executions = new Map<bigint, { block: bigint; tx: Hex }>();
  private readonly seenVotes = new Set<string>();
  private readonly deployEvents: DeployRecord[] = [];
  private readonly seenDeployEvents = new Set<string>();
  private readonly finalProposals = new Map<bigint, ProposalRecord>();
  private readonly pastVotes = new Map<string, bigint>();

  constructor(
    private readonly client: ReadClient,
    private readonly dao: Address,
    private readonly nftAddress: Address,
  ) {}

  async load(account: Address | null): Promise<DaoSnapshot> {
    const dao = { address: this.dao, abi: daoAbi } as const;
    const nft = { address: this.nftAddress, abi: nftAbi } as const;
    const read = this.client;

    // Round 1: the head, the proposal count, the rules and the member's holdings.
    const [block, numProposals, rules, nftStatic, totalSupply, paused, member] = await Promise.all([
      getBlock(read, { blockTag: "latest" }),
      readContract(read, { ...dao, functionName: "numProposals" }),
      this.rules ?? this.readRules(),
      this.nftStatic ?? this.readNftStatic(),
      readContract(read, { ...nft, functionName: "totalSupply" }),
      readContract(read, { ...nft, functionName: "paused" }),
      account ? this.readMember(account) : Promise.resolve(null),
    ]);
    this.rules = rules;
    this.nftStatic = nftStatic;
    const head: Head = { number: block.number, timestamp: block.timestamp, seenAtMs: Date.now() };

    // Round 2: new logs and every proposal that can still change.
    const from = this.scannedTo === null ? rules.deploymentBlock : this.scannedTo + 1n;
    const ids: bigint[] = [];
    for (let id = 1n; id <= numProposals; id++) ids.push(id);
    const [created, cast, executed, deployed, views] = await Promise.all([
      from <= head.number ? this.createdLogs(from, head.number) : Promise.resolve([]),
      from <= head.number ? this.voteLogs(from, head.number) : Promise.resolve([]),
      from <= head.number ? this.executedLogs(from, head.number) : Promise.resolve([]),
      from <= head.number ? this.deployLogs(from, head.number) : Promise.resolve([]),
      Promise.all(
        ids.map((id) =>
          this.finalProposals.has(id)
            ? Promise.resolve(null)
            : readContract(read, { ...dao, functionName: "getProposal", args: [id] }),
        ),
      ),
    ]);
    this.scannedTo = head.number;
    for (const [id, creation] of created) this.creations.set(id, [...(this.creations.get(id) ?? []), creation]);
    for (const [id, execution] of executed) this.executions.set(id, execution);
    for (const [id, vote, key] of cast) {
      if (this.seenVotes.has(key)) continue;
      this.seenVotes.add(key);
      this.votes.set(id, [...(this.votes.get(id) ?? []), vote]);
    }
    for (const [record, key] of deployed) {
      if (this.seenDeployEvents.has(key)) continue;
      this.seenDeployEvents.add(key);
      this.deployEvents.push(record);
    }

    const proposals = ids.map((id, index) => {
      const final = this.finalProposals.get(id);
      if (final) return { ...final, votes: this.votes.get(id) ?? [], execution: this.executions.get(id) ?? null };
      const view = views[index];
      if (!view) throw new Error(`proposal ${id} was not read`);
      const matching = (this.creations.get(id) ?? []).filter((c) => c.hash === view.specHash);
      const creation = matching[0] ?? null;
      const record: ProposalRecord = {
        id,
        specHash: view.specHash,
        snapshot: view.snapshot,
        deadline: view.deadline,
        quorum: view.quorum,
        forVotes: view.forVotes,
        againstVotes: view.againstVotes,
        abstainVotes: view.abstainVotes,
        executed: view.executed,
        passed: view.passed,
        creation: creation
          ? { proposer: creation.proposer, block: creation.block, tx: creation.tx, specJson: creation.specJson }
          : null,
        mismatchedJson: (this.creations.get(id) ?? []).filter((c) => c.hash !== view.specHash).map((c) => c.specJson),
        execution: this.executions.get(id) ?? null,
        votes: this.votes.get(id) ?? [],
      };
      if (record.executed && record.creation) this.finalProposals.set(id, record);
      return record;
    });

    // Round 3, only when needed: the member's votes at snapshots not read before.
    if (member) {
      const missing = proposals.filter((p) => !this.pastVotes.has(`${member.address}:${p.snapshot}`));
      const values = await Promise.all(
        missing.map((p) =>
          readContract(read, { ...nft, functionName: "getPastVotes", args: [member.address, p.snapshot] }),
        ),
      );
      missing.forEach((p, index) => this.pastVotes.set(`${member.address}:${p.snapshot}`, values[index] ?? 0n));
      for (const p of proposals) {
        member.votesAtSnapshot.set(p.id, this.pastVotes.get(`${member.address}:${p.snapshot}`) ?? 0n);
      }
    }

    return {
      head,
      rules,
      nft: { ...nftStatic, totalSupply, paused },
      numProposals,
      proposals,
      deployEvents: [...this.deployEvents],
      member,
    };
  }

  private async readRules(): Promise<DaoRules> {
    const dao = { address: this.dao, abi: daoAbi } as const;
    const [token, votingPeriod, quorumBps, proposalThreshold, maxSpecBytes, deploymentBlock] = await Promise.all([
      readContract(this.client, { ...dao, functionName: "token" }),
      readContract(this.client, { ...dao, functionName: "votingPeriod" }),
      readContract(this.client, { ...dao, functionName: "quorumBps" }),
      readContract(this.client, { ...dao, functionName: "proposalThreshold" }),
      readContract(this.client, { ...dao, functionName: "maxSpecBytes" }),
      readContract(this.client, { ...dao, functionName: "deploymentBlock" }),
    ]);
    return { token, votingPeriod, quorumBps, proposalThreshold, maxSpecBytes, deploymentBlock };
  }

  private async readNftStatic(): Promise<Omit<NftFacts, "totalSupply" | "paused">> {
    const nft = { address: this.nftAddress, abi: nftAbi } as const;
    const [name, symbol, price, maxSupply] = await Promise.all([
      readContract(this.client, { ...nft, functionName: "name" }),
      readContract(this.client, { ...nft, functionName: "symbol" }),
      readContract(this.client, { ...nft, functionName: "price" }),
      readContract(this.client, { ...nft, functionName: "maxSupply" }),
    ]);
    return { address: this.nftAddress, name, symbol, price, maxSupply };
  }

  private async readMember(account: Address): Promise<MemberFacts> {
    const nft = { address: this.nftAddress, abi: nftAbi } as const;
    const [tokens, votes, delegate, ether] = await Promise.all([
      readContract(this.client, { ...nft, functionName: "balanceOf", args: [account] }),
      readContract(this.client, { ...nft, functionName: "getVotes", args: [account] }),
      readContract(this.client, { ...nft, functionName: "delegates", args: [account] }),
      getBalance(this.client, { address: account }),
    ]);
    return { address: account, tokens, votes, delegate: delegate ?? zeroAddress, ether, votesAtSnapshot: new Map() };
  }

  private async createdLogs(from: bigint, to: bigint): Promise<[bigint, Creation][]> {
    const logs = await splitOnRefusal(from, to, 0, (fromBlock, toBlock) =>
      getContractEvents(this.client, {
        address: this.dao,
        abi: daoAbi,
        eventName: "ProposalCreated",
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    return logs.map((log) => [
      log.args.proposalId,
      {
        proposer: getAddress(log.args.proposer),
        block: log.blockNumber,
        tx: log.transactionHash,
        specJson: log.args.spheronInstanceJson,
        hash: keccak256(stringToBytes(log.args.spheronInstanceJson)),
      },
    ]);
  }

  private async executedLogs(from: bigint, to: bigint): Promise<[bigint, { block: bigint; tx: Hex }][]> {
    const logs = await splitOnRefusal(from, to, 0, (fromBlock, toBlock) =>
      getContractEvents(this.client, {
        address: this.dao,
        abi: daoAbi,
        eventName: "ProposalExecuted",
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    return logs.map((log) => [log.args.proposalId, { block: log.blockNumber, tx: log.transactionHash }]);
  }

  /** DeployEvents in [from, to], in execution order (the node returns logs in block order). */
  private async deployLogs(from: bigint, to: bigint): Promise<[DeployRecord, string][]> {
    const logs = await splitOnRefusal(from, to, 0, (fromBlock, toBlock) =>
      getContractEvents(this.client, {
        address: this.dao,
        abi: daoAbi,
        eventName: "DeployEvent",
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    return logs.map((log) => [
      { proposalId: log.args.proposalId, json: log.args.spheronInstanceJson },
      `${log.transactionHash}:${log.logIndex}`,
    ]);
  }

  private async voteLogs(from: bigint, to: bigint): Promise<[bigint, VoteRecord, string][]> {
    const logs = await splitOnRefusal(from, to, 0, (fromBlock, toBlock) =>
      getContractEvents(this.client, {
        address: this.dao,
        abi: daoAbi,
        eventName: "VoteCast",
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    return logs.map((log) => [
      log.args.proposalId,
      { voter: getAddress(log.args.voter), support: log.args.support, weight: log.args.weight, block: log.blockNumber },
      `${log.transactionHash}:${log.logIndex}`,
    ]);
  }
}

/** Query [from, to]; if the node refuses (a range or result limit), query each half. */
async function splitOnRefusal<T>(
  from: bigint,
  to: bigint,
  depth: number,
  query: (from: bigint, to: bigint) => Promise<T[]>,
): Promise<T[]> {
  try {
    return await query(from, to);
  } catch (error) {
    if (from >= to || depth >= MAX_LOG_SPLITS) throw error;
    const middle = from + (to - from) / 2n;
    const first = await splitOnRefusal(from, middle, depth + 1, query);
    const second = await splitOnRefusal(middle + 1n, to, depth + 1, query);
    return [...first, ...second];
  }
}
