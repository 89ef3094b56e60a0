// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";

/**
 * @title ISpheronDevsDAO
 * @notice Interface of {SpheronDevsDAO}: its types, errors, events and functions, in the manner of
 * OpenZeppelin's {IGovernor}. Off-chain code (the scripts, the deploy bot) reads the event
 * signatures from this ABI.
 */
interface ISpheronDevsDAO {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Vote options, numbered as in OpenZeppelin Governor.
    enum VoteType {
        Against,
        For,
        Abstain
    }

    /// @notice Proposal states. There is no Pending state: voting opens at creation, because the
    /// snapshot is the block before creation.
    enum ProposalState {
        Active,
        Defeated,
        Succeeded,
        Executed
    }

    /// @notice Everything known about a proposal, as returned by {getProposal}.
    struct ProposalView {
        bytes32 specHash;
        uint256 snapshot;
        uint256 deadline;
        uint256 quorum;
        uint256 forVotes;
        uint256 againstVotes;
        uint256 abstainVotes;
        bool executed;
        bool passed;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice A constructor parameter is out of range (`parameter` names it).
    error SpheronDevsDAOInvalidParameter(string parameter);

    /// @notice No proposal has id `proposalId`.
    error SpheronDevsDAONonexistentProposal(uint256 proposalId);

    /// @notice `account` had `votes` at the snapshot but `threshold` are needed to propose.
    error SpheronDevsDAOInsufficientVotingPower(address account, uint256 votes, uint256 threshold);

    /// @notice `account` holds no membership token.
    error SpheronDevsDAONotMember(address account);

    /// @notice The proposal spec is empty.
    error SpheronDevsDAOEmptySpec();

    /// @notice The proposal spec is `size` bytes long; at most `maxSize` are allowed.
    error SpheronDevsDAOSpecTooLarge(uint256 size, uint256 maxSize);

    /// @notice The JSON given to {executeProposal} is not the one proposal `proposalId` was created with.
    error SpheronDevsDAOSpecMismatch(uint256 proposalId);

    /// @notice Voting on `proposalId` closed at `deadline`.
    error SpheronDevsDAOVotingClosed(uint256 proposalId, uint256 deadline);

    /// @notice Voting on `proposalId` is open until `deadline`; it cannot be executed yet.
    error SpheronDevsDAOVotingNotEnded(uint256 proposalId, uint256 deadline);

    /// @notice `voter` already voted on `proposalId`.
    error SpheronDevsDAOAlreadyVoted(uint256 proposalId, address voter);

    /// @notice `voter` had no voting power at the proposal's snapshot.
    error SpheronDevsDAONoVotingPower(uint256 proposalId, address voter);

    /// @notice `support` is not a {VoteType}.
    error SpheronDevsDAOInvalidVoteType(uint8 support);

    /// @notice `proposalId` was already executed.
    error SpheronDevsDAOAlreadyExecuted(uint256 proposalId);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A proposal to deploy `spheronInstanceJson` was created. Votes count at `snapshot`
    /// (a block number) and are accepted until `deadline` (a timestamp).
    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        uint256 snapshot,
        uint256 deadline,
        bytes32 specHash,
        string spheronInstanceJson
    );

    /// @notice `voter` cast `weight` votes of type `support` ({VoteType}) on `proposalId`.
    event VoteCast(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight);

    /// @notice `proposalId` was executed; `passed` tells whether it was deployed.
    event ProposalExecuted(uint256 indexed proposalId, bool passed);

    /// @notice Deploy the instance described by `spheronInstanceJson` (the exact JSON voted on).
    /// `msg` is always "Deploy". Emitted once per passed proposal, by {executeProposal}.
    event DeployEvent(uint256 indexed proposalId, address indexed _from, string msg, string spheronInstanceJson);

    /*//////////////////////////////////////////////////////////////
                                SETTINGS
    //////////////////////////////////////////////////////////////*/

    /// @notice The membership token (checkpointed votes on a block-number clock, ERC-721 balances).
    function token() external view returns (IERC5805);

    /// @notice Seconds during which a new proposal accepts votes.
    function votingPeriod() external view returns (uint256);

    /// @notice Quorum as a fraction of the supply at the snapshot, in basis points (1..10000).
    function quorumBps() external view returns (uint256);

    /// @notice Votes at the snapshot needed to create a proposal (at least 1).
    function proposalThreshold() external view returns (uint256);

    /// @notice Maximum length of a proposal's JSON in bytes.
    function maxSpecBytes() external view returns (uint256);

    /// @notice Block in which the DAO was deployed: where log scanners can start.
    function deploymentBlock() external view returns (uint256);

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /**
     * @notice Proposes deploying `spheronInstanceJson`. The caller needs `proposalThreshold` votes at
     * the snapshot (the previous block). Validate the JSON off-chain first: the contract checks only
     * its size, and binds it by hash. Emits {ProposalCreated}.
     * @return proposalId The new proposal's id.
     */
    function createProposal(string calldata spheronInstanceJson) external returns (uint256 proposalId);

    /**
     * @notice Casts the caller's votes at the proposal's snapshot on `proposalId`: `support` is
     * 0 = Against, 1 = For, 2 = Abstain. One vote per address per proposal, while voting is open.
     * Gas does not depend on the number of tokens held. Emits {VoteCast}.
     * @return weight The number of votes cast.
     */
    function voteOnProposal(uint256 proposalId, uint8 support) external returns (uint256 weight);

    /**
     * @notice Closes `proposalId` after its deadline: marks it executed and, if it passed, emits
     * {DeployEvent} with `spheronInstanceJson`, which must be the exact JSON the proposal was created
     * with (read it from {ProposalCreated}). Always emits {ProposalExecuted}. Members only; once.
     * @return passed Whether quorum was reached and For > Against.
     */
    function executeProposal(uint256 proposalId, string calldata spheronInstanceJson) external returns (bool passed);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The state of `proposalId`. Reverts for an unknown id.
    function state(uint256 proposalId) external view returns (ProposalState);

    /// @notice Everything stored about `proposalId`. Reverts for an unknown id.
    function getProposal(uint256 proposalId) external view returns (ProposalView memory);

    /// @notice Votes needed for `proposalId` to pass: `quorumBps` of the token supply at its snapshot,
    /// rounded up, at least one. For and Abstain votes count toward it. Reverts for an unknown id.
    function quorum(uint256 proposalId) external view returns (uint256);

    /// @notice Number of proposals created; ids run from 1 to `numProposals()`.
    function numProposals() external view returns (uint256);

    /// @notice Whether `account` voted on `proposalId`. Reverts for an unknown id.
    function hasVoted(uint256 proposalId, address account) external view returns (bool);
}
