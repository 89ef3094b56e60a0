// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721Enumerable} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Enumerable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title TutorialDAO
 * @notice BENCHMARK BASELINE ONLY — not part of the product, and it keeps the tutorial's defects on
 * purpose (no quorum, no snapshot, no bounds check on the index, an unbounded vote loop, no
 * proposal id in the event). It reproduces the tutorial's DAO so that `make bench` can compare its
 * gas with {SpheronDevsDAO}:
 * - the proposal's JSON is stored in contract storage;
 * - proposal indexes start at 0, the deadline is now + 5 minutes;
 * - a vote loops over the voter's live NFT balance with `tokenOfOwnerByIndex` and marks each
 *   token in a per-proposal "voted" mapping; the weight is the number of tokens not yet used;
 * - execution emits the deploy event (read back from storage) when yay > nay, then sets the
 *   executed flag.
 */
contract TutorialDAO is Ownable {
    struct Proposal {
        string spheronInstanceJson;
        uint256 deadline;
        uint256 yayVotes;
        uint256 nayVotes;
        bool executed;
        mapping(uint256 tokenId => bool) voters;
    }

    enum Vote {
        YAY,
        NAY
    }

    event DeployEvent(address _from, string msg, string spheronInstanceJson);

    mapping(uint256 index => Proposal) public proposals;
    uint256 public numProposals;

    IERC721Enumerable private immutable _nft;

    modifier nftHolderOnly() {
        require(_nft.balanceOf(msg.sender) > 0, "NOT_A_DAO_MEMBER");
        _;
    }

    modifier activeProposalOnly(uint256 proposalIndex) {
        require(proposals[proposalIndex].deadline > block.timestamp, "DEADLINE_EXCEEDED");
        _;
    }

    modifier inactiveProposalOnly(uint256 proposalIndex) {
        require(proposals[proposalIndex].deadline <= block.timestamp, "DEADLINE_NOT_EXCEEDED");
        require(!proposals[proposalIndex].executed, "PROPOSAL_ALREADY_EXECUTED");
        _;
    }

    constructor(IERC721Enumerable nft_) payable Ownable(msg.sender) {
        _nft = nft_;
    }

    /// @notice Stores `spheronInstanceJson` as a new proposal; returns its index.
    function createProposal(string memory spheronInstanceJson) external nftHolderOnly returns (uint256) {
        Proposal storage proposal = proposals[numProposals];
        proposal.spheronInstanceJson = spheronInstanceJson;
        proposal.deadline = block.timestamp + 5 minutes;
        numProposals++;
        return numProposals - 1;
    }

    /// @notice Votes with every token of the caller not yet used on this proposal.
    function voteOnProposal(uint256 proposalIndex, Vote vote)
        external
        nftHolderOnly
        activeProposalOnly(proposalIndex)
    {
        Proposal storage proposal = proposals[proposalIndex];
        uint256 voterNFTBalance = _nft.balanceOf(msg.sender);
        uint256 numVotes = 0;
        for (uint256 i = 0; i < voterNFTBalance; i++) {
            uint256 tokenId = _nft.tokenOfOwnerByIndex(msg.sender, i);
            if (!proposal.voters[tokenId]) {
                numVotes++;
                proposal.voters[tokenId] = true;
            }
        }
        require(numVotes > 0, "ALREADY_VOTED");
        if (vote == Vote.YAY) {
            proposal.yayVotes += numVotes;
        } else {
            proposal.nayVotes += numVotes;
        }
    }

    /// @notice After the deadline: emits {DeployEvent} with the stored JSON if yay > nay, then
    /// marks the proposal executed.
    function executeProposal(uint256 proposalIndex)
        external
        nftHolderOnly
        inactiveProposalOnly(proposalIndex)
    {
        Proposal storage proposal = proposals[proposalIndex];
        if (proposal.yayVotes > proposal.nayVotes) {
            emit DeployEvent(msg.sender, "Deploy", proposal.spheronInstanceJson);
        }
        proposal.executed = true;
    }

    function withdrawEther() external onlyOwner {
        (bool sent,) = payable(owner()).call{value: address(this).balance}("");
        require(sent, "FAILED_TO_WITHDRAW_ETHER");
    }

    receive() external payable {}

    fallback() external payable {}
}
