// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {IERC721} from "@openzeppelin/contracts/interfaces/IERC721.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ISpheronDevsDAO} from "./interfaces/ISpheronDevsDAO.sol";

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
 *
 * Types, errors, events and the NatSpec of every function are in {ISpheronDevsDAO}.
 */
contract SpheronDevsDAO is ISpheronDevsDAO {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

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

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISpheronDevsDAO
    IERC5805 public immutable token;

    /// @inheritdoc ISpheronDevsDAO
    uint256 public immutable votingPeriod;

    /// @inheritdoc ISpheronDevsDAO
    uint256 public immutable quorumBps;

    /// @inheritdoc ISpheronDevsDAO
    uint256 public immutable proposalThreshold;

    /// @inheritdoc ISpheronDevsDAO
    uint256 public immutable maxSpecBytes;

    /// @inheritdoc ISpheronDevsDAO
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
        if (!_clockIsBlockNumber(token_)) revert SpheronDevsDAOInvalidParameter("token clock");
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

    /// @inheritdoc ISpheronDevsDAO
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

    /// @inheritdoc ISpheronDevsDAO
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

    /// @inheritdoc ISpheronDevsDAO
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

    /// @inheritdoc ISpheronDevsDAO
    function state(uint256 proposalId) external view returns (ProposalState) {
        ProposalCore memory p = _existingProposal(proposalId);
        if (p.executed) return p.passed ? ProposalState.Executed : ProposalState.Defeated;
        if (block.timestamp <= p.deadline) return ProposalState.Active;
        return _passed(p) ? ProposalState.Succeeded : ProposalState.Defeated;
    }

    /// @inheritdoc ISpheronDevsDAO
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

    /// @inheritdoc ISpheronDevsDAO
    function quorum(uint256 proposalId) external view returns (uint256) {
        return _existingProposal(proposalId).quorum;
    }

    /// @inheritdoc ISpheronDevsDAO
    function numProposals() external view returns (uint256) {
        return _nextProposalId - 1;
    }

    /// @inheritdoc ISpheronDevsDAO
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

    /// @dev Whether `token_.clock()` is the current block number. A low-level call, so that a token
    /// without `clock()` (the call reverts, or a fallback answers something else) is refused with
    /// {SpheronDevsDAOInvalidParameter} rather than a revert without data.
    function _clockIsBlockNumber(IERC5805 token_) private view returns (bool) {
        (bool success, bytes memory answer) = address(token_).staticcall(abi.encodeCall(IERC6372.clock, ()));
        return success && answer.length == 32 && abi.decode(answer, (uint256)) == block.number;
    }
}
