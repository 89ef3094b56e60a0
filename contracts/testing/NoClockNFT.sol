// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/**
 * @title NoClockNFT
 * @notice Test fixture only: a plain ERC-721 without votes, so without the ERC-6372 `clock()` that
 * SpheronDevsDAO needs.
 */
contract NoClockNFT is ERC721 {
    constructor() ERC721("No clock", "NOC") {}
}
