// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC165} from "@openzeppelin/contracts/interfaces/IERC165.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/**
 * @title SpheronDevsNFT
 * @notice Membership token of the Spheron Devs DAO. One token is one vote.
 *
 * - Paid mint: `mint(quantity)` must send exactly `price * quantity` wei (no over-payment, so no
 *   ether is ever stuck as change). Token ids run 1..maxSupply.
 * - Votes are checkpointed by OpenZeppelin's {ERC721Votes}, so the DAO reads voting power at a past
 *   block. A holder without a delegate is self-delegated automatically when it receives a token, so
 *   members vote without a separate `delegate` transaction; an explicit {delegate} still works and
 *   is kept from then on.
 * - The owner can pause minting (transfers stay open: pausing must not freeze governance), change the
 *   metadata base URI and withdraw the mint proceeds.
 */
contract SpheronDevsNFT is ERC721, EIP712, ERC721Votes, Ownable, Pausable, IERC4906 {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `mint` was called with a quantity of zero.
    error SpheronDevsNFTZeroQuantity();

    /// @notice The ether sent is not exactly `price * quantity`.
    error SpheronDevsNFTWrongPayment(uint256 expected, uint256 sent);

    /// @notice Minting `requested` tokens would exceed the maximum supply (`remaining` are left).
    error SpheronDevsNFTSoldOut(uint256 requested, uint256 remaining);

    /// @notice The constructor was given a maximum supply of zero.
    error SpheronDevsNFTZeroMaxSupply();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `quantity` tokens with ids `firstTokenId`.. were minted to `to` for `paid` wei.
    event Minted(address indexed to, uint256 firstTokenId, uint256 quantity, uint256 paid);

    /// @notice The mint proceeds (`amount` wei) were sent to `to`.
    event Withdrawn(address indexed to, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice Price of one token in wei.
    uint256 public immutable price;

    /// @notice Maximum number of tokens that can ever exist.
    uint256 public immutable maxSupply;

    uint256 private _minted;
    string private _baseTokenURI;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /**
     * @param name_ ERC-721 name (also the EIP-712 domain name used by `delegateBySig`).
     * @param symbol_ ERC-721 symbol.
     * @param baseURI_ Metadata base URI; a trailing "/" is added when missing.
     * @param price_ Price of one token in wei (may be zero for a free mint).
     * @param maxSupply_ Maximum number of tokens; must be at least one.
     * @param initialOwner Account allowed to pause, set the base URI and withdraw.
     */
    constructor(
        string memory name_,
        string memory symbol_,
        string memory baseURI_,
        uint256 price_,
        uint256 maxSupply_,
        address initialOwner
    ) ERC721(name_, symbol_) EIP712(name_, "1") Ownable(initialOwner) {
        if (maxSupply_ == 0) revert SpheronDevsNFTZeroMaxSupply();
        price = price_;
        maxSupply = maxSupply_;
        _baseTokenURI = _withTrailingSlash(baseURI_);
    }

    /*//////////////////////////////////////////////////////////////
                                  MINT
    //////////////////////////////////////////////////////////////*/

    /**
     * @notice Mints `quantity` tokens to the caller, paying exactly `price * quantity` wei.
     * @dev Reverts with {SpheronDevsNFTZeroQuantity}, {SpheronDevsNFTSoldOut},
     * {SpheronDevsNFTWrongPayment}, or {EnforcedPause} while paused.
     * @return firstTokenId The id of the first token minted; the others follow consecutively.
     */
    function mint(uint256 quantity) external payable whenNotPaused returns (uint256 firstTokenId) {
        if (quantity == 0) revert SpheronDevsNFTZeroQuantity();
        uint256 minted = _minted;
        uint256 remaining = maxSupply - minted;
        if (quantity > remaining) revert SpheronDevsNFTSoldOut(quantity, remaining);
        uint256 expected = price * quantity;
        if (msg.value != expected) revert SpheronDevsNFTWrongPayment(expected, msg.value);

        _minted = minted + quantity;
        firstTokenId = minted + 1;
        for (uint256 i = 0; i < quantity; ++i) {
            _safeMint(msg.sender, firstTokenId + i);
        }
        emit Minted(msg.sender, firstTokenId, quantity, msg.value);
    }

    /// @notice Number of tokens minted so far (tokens are never burned, so this is the supply).
    function totalSupply() external view returns (uint256) {
        return _minted;
    }

    /*//////////////////////////////////////////////////////////////
                                  OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Stops minting. Transfers and delegation are not affected.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Resumes minting.
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Sets the metadata base URI (a trailing "/" is added when missing).
    function setBaseURI(string calldata baseURI_) external onlyOwner {
        _baseTokenURI = _withTrailingSlash(baseURI_);
        emit BatchMetadataUpdate(1, type(uint256).max);
    }

    /// @notice Sends the whole contract balance to `to`.
    function withdraw(address payable to) external onlyOwner {
        uint256 amount = address(this).balance;
        emit Withdrawn(to, amount);
        Address.sendValue(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                METADATA
    //////////////////////////////////////////////////////////////*/

    /// @notice Metadata URI of `tokenId`: base URI + id + ".json". Reverts for a token that does not exist.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        string memory base = _baseTokenURI;
        if (bytes(base).length == 0) return "";
        return string.concat(base, Strings.toString(tokenId), ".json");
    }

    /// @notice The metadata base URI, always ending with "/" (or empty).
    function baseURI() external view returns (string memory) {
        return _baseTokenURI;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, IERC165) returns (bool) {
        return interfaceId == bytes4(0x49064906) || super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Self-delegates a receiver that has no delegate yet, before the votes move with the token.
    function _update(address to, uint256 tokenId, address auth)
        internal
        override(ERC721, ERC721Votes)
        returns (address)
    {
        if (to != address(0) && delegates(to) == address(0)) {
            _delegate(to, to);
        }
        return super._update(to, tokenId, auth);
    }

    function _increaseBalance(address account, uint128 amount) internal override(ERC721, ERC721Votes) {
        super._increaseBalance(account, amount);
    }

    function _withTrailingSlash(string memory uri) private pure returns (string memory) {
        bytes memory raw = bytes(uri);
        if (raw.length == 0 || raw[raw.length - 1] == "/") return uri;
        return string.concat(uri, "/");
    }
}
