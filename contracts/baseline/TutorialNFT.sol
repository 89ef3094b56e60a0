// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Enumerable} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Enumerable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title TutorialNFT
 * @notice BENCHMARK BASELINE ONLY — not part of the product. The membership NFT of the tutorial
 * system this project replaces, rebuilt on OpenZeppelin 5 so `make bench` can measure its gas next
 * to {SpheronDevsNFT}: ERC-721 Enumerable + Ownable, price 0.01 ether, one token per `mint()` call,
 * token ids 1..maxTokenIds, a paused flag, owner withdrawal.
 *
 * Deviation from the tutorial: `maxTokenIds` is a constructor argument (the tutorial hard-coded
 * 10) so that the benchmark can mint 50 tokens to one account.
 */
contract TutorialNFT is ERC721Enumerable, Ownable {
    string private _baseTokenURI;

    uint256 public constant PRICE = 0.01 ether;

    uint256 public immutable maxTokenIds;

    uint256 public tokenIds;

    bool public paused;

    modifier onlyWhenNotPaused() {
        require(!paused, "Contract currently paused");
        _;
    }

    constructor(string memory baseURI_, uint256 maxTokenIds_) ERC721("Spheron Devs", "SD") Ownable(msg.sender) {
        _baseTokenURI = baseURI_;
        maxTokenIds = maxTokenIds_;
    }

    /// @notice Mints the next token id to the caller for at least `PRICE` wei.
    function mint() external payable onlyWhenNotPaused {
        require(tokenIds < maxTokenIds, "Exceed maximum Spheron Devs supply");
        require(msg.value >= PRICE, "Ether sent is not correct");
        tokenIds += 1;
        _safeMint(msg.sender, tokenIds);
    }

    function setPaused(bool value) external onlyOwner {
        paused = value;
    }

    function withdraw() external onlyOwner {
        (bool sent,) = payable(owner()).call{value: address(this).balance}("");
        require(sent, "Failed to send Ether");
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }
}
