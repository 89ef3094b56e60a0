// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IERC721} from "@openzeppelin/contracts/interfaces/IERC721.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title SpheronDevsDAO
 * @notice Members of the Spheron Devs DAO propose Spheron instance specs (JSON), vote on them with their
 * membership NFTs, and execute the ones that pass. Executing a passed proposal emits {DeployEvent}
 * carrying the exact JSON that was voted on; an off-chain bot deploys it.
 *
 * Governance rules:
 * - Voting power is read at the proposal's snapshot: the block before the proposal was created
 *   ({IERC5805-getPastVotes}), so tokens bought, borrowed or moved afterwards add nothing, and moving
 *   a token cannot vote twice.
 * - Quorum is `quorumBps` of the token supply at the snapshot, rounded up, never less than one vote.
 *   For and Abstain votes count toward quorum. A proposal passes when quorum is reached and For > Against.
 * - Voting is open while `block.timestamp <= deadline`; execution is possible once after that.
 *
 * Gas design: the JSON is never stored. It is emitted in {ProposalCreated} (readable by anyone from the
 * logs), bound by its keccak256 hash in storage, and given again as calldata to {executeProposal},
 * which checks it against the hash before emitting it in {DeployEvent}. Each proposal uses two storage
 * slots: the spec hash, and one packed slot for timing, quorum, tallies and status.
 */
contract SpheronDevsDAO {
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

    /// @dev One storage slot (240 bits). Votes are uint32: up to 4,294,967,295 tokens.
    struct ProposalCore {
        uint48 snapshot;
        uint48 deadline;
        uint32 quorum;
        uint32 forVotes;
        uint32 againstVotes;
        uint32 abstainVotes;
        bool executed;
        bool passed;
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
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice The membership token (checkpointed votes, ERC-721 balances).
    IERC5805 public immutable token;

    /// @notice Seconds during which a new proposal accepts votes.
    uint256 public immutable votingPeriod;

    /// @notice Quorum as a fraction of the supply at the snapshot, in basis points (1..10000).
    uint256 public immutable quorumBps;

    /// @notice Votes at the snapshot needed to create a proposal (at least 1).
    uint256 public immutable proposalThreshold;

    /// @notice Maximum length of a proposal's JSON in bytes.
    uint256 public immutable maxSpecBytes;

    /// @notice Block in which this DAO was deployed: where log scanners can start.
    uint256 public immutable deploymentBlock;

    /// @dev Id of the next proposal. Ids start at 1, and the counter is never zero, so creating a
    /// proposal updates a non-zero slot (5,000 gas) instead of filling an empty one (22,100 gas).
    uint256 private _nextProposalId = 1;

    mapping(uint256 proposalId => bytes32) private _specHashes;
    mapping(uint256 proposalId => ProposalCore) private _proposals;
    mapping(uint256 proposalId => mapping(address voter => bool)) private _hasVoted;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /**
     * @param token_ The membership NFT: an {IERC5805} votes token on block-number clock that is
     * also an {IERC721}.
     * @param votingPeriod_ Seconds a proposal accepts votes (1 .. 2^32).
     * @param quorumBps_ Quorum in basis points of the supply at the snapshot (1..10000).
     * @param proposalThreshold_ Votes needed to propose (at least 1, so only members propose).
     * @param maxSpecBytes_ Maximum JSON length in bytes (1..65536).
     */
    constructor(
        IERC5805 token_,
        uint256 votingPeriod_,
        uint256 quorumBps_,
        uint256 proposalThreshold_,
        uint256 maxSpecBytes_
    ) {
        if (address(token_).code.length == 0) revert SpheronDevsDAOInvalidParameter("token");
        // Snapshots are block numbers (read without a call to the token in createProposal).
        if (token_.clock() != block.number) revert SpheronDevsDAOInvalidParameter("token clock");
        if (votingPeriod_ == 0 || votingPeriod_ > type(uint32).max) {
            revert SpheronDevsDAOInvalidParameter("votingPeriod");
        }
        if (quorumBps_ == 0 || quorumBps_ > 10_000) revert SpheronDevsDAOInvalidParameter("quorumBps");
        if (proposalThreshold_ == 0) revert SpheronDevsDAOInvalidParameter("proposalThreshold");
        if (maxSpecBytes_ == 0 || maxSpecBytes_ > 65_536) revert SpheronDevsDAOInvalidParameter("maxSpecBytes");
        token = token_;
        votingPeriod = votingPeriod_;
        quorumBps = quorumBps_;
        proposalThreshold = proposalThreshold_;
        maxSpecBytes = maxSpecBytes_;
        deploymentBlock = block.number;
    }

    /*//////////////////////////////////////////////////////////////
                                 PROPOSE
    //////////////////////////////////////////////////////////////*/

    /**
     * @notice Proposes deploying `spheronInstanceJson`. The caller needs `proposalThreshold` votes at
     * the snapshot (the previous block). Validate the JSON off-chain first: the contract checks only
     * its size, and binds it by hash.
     * @return proposalId The new proposal's id.
     */
    function createProposal(string calldata spheronInstanceJson) external returns (uint256 proposalId) {
        uint256 size = bytes(spheronInstanceJson).length;
        if (size == 0) revert SpheronDevsDAOEmptySpec();
        if (size > maxSpecBytes) revert SpheronDevsDAOSpecTooLarge(size, maxSpecBytes);

        uint48 snapshot = uint48(block.number - 1);
        uint256 votes = token.getPastVotes(msg.sender, snapshot);
        if (votes < proposalThreshold) {
            revert SpheronDevsDAOInsufficientVotingPower(msg.sender, votes, proposalThreshold);
        }
        // Supply checkpoints are uint208 and quorumBps <= 10,000: the product cannot overflow.
        uint256 supply = token.getPastTotalSupply(snapshot);
        uint256 quorum_ = Math.max(1, Math.ceilDiv(supply * quorumBps, 10_000));
        uint48 deadline = SafeCast.toUint48(block.timestamp + votingPeriod);
        bytes32 specHash = keccak256(bytes(spheronInstanceJson));

        proposalId = _nextProposalId++;
        _specHashes[proposalId] = specHash;
        _proposals[proposalId] = ProposalCore({
            snapshot: snapshot,
            deadline: deadline,
            quorum: SafeCast.toUint32(quorum_),
            forVotes: 0,
            againstVotes: 0,
            abstainVotes: 0,
            executed: false,
            passed: false
        });

        emit ProposalCreated(proposalId, msg.sender, snapshot, deadline, specHash, spheronInstanceJson);
    }

    /*//////////////////////////////////////////////////////////////
                                  VOTE
    //////////////////////////////////////////////////////////////*/

    /**
     * @notice Casts the caller's votes at the proposal's snapshot on `proposalId`: `support` is
     * 0 = Against, 1 = For, 2 = Abstain. One vote per address per proposal, while voting is open.
     * Gas does not depend on the number of tokens held.
     * @return weight The number of votes cast.
     */
    function voteOnProposal(uint256 proposalId, uint8 support) external returns (uint256 weight) {
        ProposalCore memory p = _existingProposal(proposalId);
        if (block.timestamp > p.deadline) revert SpheronDevsDAOVotingClosed(proposalId, p.deadline);
        if (support > uint8(VoteType.Abstain)) revert SpheronDevsDAOInvalidVoteType(support);
        if (_hasVoted[proposalId][msg.sender]) revert SpheronDevsDAOAlreadyVoted(proposalId, msg.sender);

        weight = token.getPastVotes(msg.sender, p.snapshot);
        if (weight == 0) revert SpheronDevsDAONoVotingPower(proposalId, msg.sender);
        uint32 votes = SafeCast.toUint32(weight);

        _hasVoted[proposalId][msg.sender] = true;
        ProposalCore storage stored = _proposals[proposalId];
        if (support == uint8(VoteType.For)) {
            stored.forVotes = p.forVotes + votes;
        } else if (support == uint8(VoteType.Against)) {
            stored.againstVotes = p.againstVotes + votes;
        } else {
            stored.abstainVotes = p.abstainVotes + votes;
        }

        emit VoteCast(msg.sender, proposalId, support, weight);
    }

    /*//////////////////////////////////////////////////////////////
                                 EXECUTE
    //////////////////////////////////////////////////////////////*/

    /**
     * @notice Closes `proposalId` after its deadline: marks it executed and, if it passed, emits
     * {DeployEvent} with `spheronInstanceJson`, which must be the exact JSON the proposal was created
     * with (read it from {ProposalCreated}). Always emits {ProposalExecuted}. Members only; once.
     * @return passed Whether quorum was reached and For > Against.
     */
    function executeProposal(uint256 proposalId, string calldata spheronInstanceJson)
        external
        returns (bool passed)
    {
        ProposalCore memory p = _existingProposal(proposalId);
        if (IERC721(address(token)).balanceOf(msg.sender) == 0) revert SpheronDevsDAONotMember(msg.sender);
        if (block.timestamp <= p.deadline) revert SpheronDevsDAOVotingNotEnded(proposalId, p.deadline);
        if (p.executed) revert SpheronDevsDAOAlreadyExecuted(proposalId);
        if (keccak256(bytes(spheronInstanceJson)) != _specHashes[proposalId]) {
            revert SpheronDevsDAOSpecMismatch(proposalId);
        }

        passed = _passed(p);
        ProposalCore storage stored = _proposals[proposalId];
        stored.executed = true;
        stored.passed = passed;

        if (passed) emit DeployEvent(proposalId, msg.sender, "Deploy", spheronInstanceJson);
        emit ProposalExecuted(proposalId, passed);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The state of `proposalId`. Reverts for an unknown id.
    function state(uint256 proposalId) external view returns (ProposalState) {
        ProposalCore memory p = _existingProposal(proposalId);
        if (p.executed) return p.passed ? ProposalState.Executed : ProposalState.Defeated;
        if (block.timestamp <= p.deadline) return ProposalState.Active;
        return _passed(p) ? ProposalState.Succeeded : ProposalState.Defeated;
    }

    /// @notice Everything stored about `proposalId`. Reverts for an unknown id.
    function getProposal(uint256 proposalId) external view returns (ProposalView memory) {
        ProposalCore memory p = _existingProposal(proposalId);
        return ProposalView({
            specHash: _specHashes[proposalId],
            snapshot: p.snapshot,
            deadline: p.deadline,
            quorum: p.quorum,
            forVotes: p.forVotes,
            againstVotes: p.againstVotes,
            abstainVotes: p.abstainVotes,
            executed: p.executed,
            passed: p.passed
        });
    }

    /// @notice Votes needed for `proposalId` to pass: `quorumBps` of the token supply at its snapshot,
    /// rounded up, at least one. For and Abstain votes count toward it. Reverts for an unknown id.
    function quorum(uint256 proposalId) external view returns (uint256) {
        return _existingProposal(proposalId).quorum;
    }

    /// @notice Number of proposals created; ids run from 1 to `numProposals()`.
    function numProposals() external view returns (uint256) {
        return _nextProposalId - 1;
    }

    /// @notice Whether `account` voted on `proposalId`. Reverts for an unknown id.
    function hasVoted(uint256 proposalId, address account) external view returns (bool) {
        _existingProposal(proposalId);
        return _hasVoted[proposalId][account];
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Every created proposal has a non-zero deadline, so a zero one means "never created"
    /// (cheaper than reading `numProposals`).
    function _existingProposal(uint256 proposalId) private view returns (ProposalCore memory p) {
        p = _proposals[proposalId];
        if (p.deadline == 0) revert SpheronDevsDAONonexistentProposal(proposalId);
    }

    function _passed(ProposalCore memory p) private pure returns (bool) {
        return p.forVotes > p.againstVotes && uint256(p.forVotes) + p.abstainVotes >= p.quorum;
    }
}
