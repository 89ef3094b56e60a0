// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/**
 * @title PeerGovernor
 * @notice BENCHMARK PEER ONLY — not part of the product. OpenZeppelin Governor built the standard way
 * (settings, simple counting, votes from an ERC-5805 token, quorum as a fraction of the supply, no
 * timelock), so that `make bench` can compare its gas with {SpheronDevsDAO} on the same NFT. Its
 * proposals call {PeerDeployExecutor}, which emits the instance spec.
 */
contract PeerGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction
{
    /**
     * @param token_ The votes token (SpheronDevsNFT: block-number clock).
     * @param votingDelay_ Blocks between a proposal and its snapshot.
     * @param votingPeriod_ Blocks during which votes are accepted.
     * @param proposalThreshold_ Votes needed to propose.
     * @param quorumPercent Quorum in percent of the supply at the snapshot.
     */
    constructor(
        IVotes token_,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent
    )
        Governor("PeerGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(quorumPercent)
    {}

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }
}
