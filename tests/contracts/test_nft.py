"""SpheronDevsNFT: paid mint, pause, withdraw, token URIs, checkpointed votes, self-delegation."""

import pytest

from tests.conftest import MAX_SUPPLY, NFT_PRICE
from tests.contracts.reverts import reverts_with

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_constructor_sets_parameters(nft, deployer):
    assert nft.name() == "Spheron Devs"
    assert nft.symbol() == "SPD"
    assert nft.price() == NFT_PRICE
    assert nft.maxSupply() == MAX_SUPPLY
    assert nft.owner() == deployer
    assert nft.totalSupply() == 0
    assert not nft.paused()


def test_constructor_rejects_zero_max_supply(project, deploy_nft):
    with reverts_with(project.SpheronDevsNFT, "SpheronDevsNFTZeroMaxSupply"):
        deploy_nft(max_supply=0)


def test_mint_one_exact_payment(nft, alice):
    receipt = nft.mint(1, sender=alice, value=NFT_PRICE)
    assert nft.ownerOf(1) == alice
    assert nft.balanceOf(alice) == 1
    assert nft.totalSupply() == 1
    assert nft.balance == NFT_PRICE
    [minted] = nft.Minted.from_receipt(receipt)
    assert minted.to == alice
    assert minted.firstTokenId == 1
    assert minted.quantity == 1
    assert minted.paid == NFT_PRICE


def test_mint_several_gives_consecutive_ids(nft, alice, bob):
    nft.mint(2, sender=alice, value=2 * NFT_PRICE)
    receipt = nft.mint(3, sender=bob, value=3 * NFT_PRICE)
    assert [nft.ownerOf(i) for i in range(1, 6)] == [alice, alice, bob, bob, bob]
    assert nft.Minted.from_receipt(receipt)[0].firstTokenId == 3
    assert len(nft.Transfer.from_receipt(receipt)) == 3


@pytest.mark.parametrize("paid_delta", [-1, 1, -NFT_PRICE])
def test_mint_requires_exact_payment(nft, alice, paid_delta):
    sent = 2 * NFT_PRICE + paid_delta
    with reverts_with(nft, "SpheronDevsNFTWrongPayment", expected=2 * NFT_PRICE, sent=sent):
        nft.mint(2, sender=alice, value=sent)
    assert nft.balanceOf(alice) == 0


def test_mint_zero_quantity_reverts(nft, alice):
    with reverts_with(nft, "SpheronDevsNFTZeroQuantity"):
        nft.mint(0, sender=alice)


def test_mint_beyond_max_supply_reverts(deploy_nft, alice, bob):
    small = deploy_nft(max_supply=3)
    small.mint(2, sender=alice, value=2 * NFT_PRICE)
    with reverts_with(small, "SpheronDevsNFTSoldOut", requested=2, remaining=1):
        small.mint(2, sender=bob, value=2 * NFT_PRICE)
    small.mint(1, sender=bob, value=NFT_PRICE)
    with reverts_with(small, "SpheronDevsNFTSoldOut", requested=1, remaining=0):
        small.mint(1, sender=bob, value=NFT_PRICE)
    assert small.totalSupply() == 3


def test_free_mint_when_price_is_zero(deploy_nft, alice):
    free = deploy_nft(price=0)
    free.mint(1, sender=alice)
    assert free.balanceOf(alice) == 1


def test_pause_blocks_mint_but_not_transfers(nft, deployer, alice, bob):
    nft.mint(1, sender=alice, value=NFT_PRICE)
    receipt = nft.pause(sender=deployer)
    assert nft.Paused.from_receipt(receipt)[0].account == deployer
    with reverts_with(nft, "EnforcedPause"):
        nft.mint(1, sender=bob, value=NFT_PRICE)
    nft.transferFrom(alice, bob, 1, sender=alice)
    assert nft.ownerOf(1) == bob
    receipt = nft.unpause(sender=deployer)
    assert len(nft.Unpaused.from_receipt(receipt)) == 1
    nft.mint(1, sender=bob, value=NFT_PRICE)
    assert nft.balanceOf(bob) == 2


@pytest.mark.parametrize("call", ["pause", "unpause", "setBaseURI", "withdraw"])
def test_owner_functions_reject_others(nft, deployer, alice, call):
    args = {"setBaseURI": ("ipfs://x/",), "withdraw": (alice.address,)}.get(call, ())
    if call == "unpause":
        nft.pause(sender=deployer)
    with reverts_with(nft, "OwnableUnauthorizedAccount", account=alice.address):
        getattr(nft, call)(*args, sender=alice)


def test_withdraw_sends_proceeds(nft, deployer, alice, bob):
    nft.mint(3, sender=alice, value=3 * NFT_PRICE)
    before = bob.balance
    receipt = nft.withdraw(bob, sender=deployer)
    assert bob.balance == before + 3 * NFT_PRICE
    assert nft.balance == 0
    [event] = nft.Withdrawn.from_receipt(receipt)
    assert event.to == bob
    assert event.amount == 3 * NFT_PRICE


def test_token_uri_is_base_plus_id_plus_json(nft, alice):
    nft.mint(2, sender=alice, value=2 * NFT_PRICE)
    assert nft.tokenURI(1) == "ipfs://bafy-metadata/1.json"
    assert nft.tokenURI(2) == "ipfs://bafy-metadata/2.json"


def test_base_uri_without_slash_gets_one(deploy_nft, deployer, alice):
    token = deploy_nft(base_uri="https://meta.example/devs")
    token.mint(1, sender=alice, value=NFT_PRICE)
    assert token.tokenURI(1) == "https://meta.example/devs/1.json"
    receipt = token.setBaseURI("ipfs://new", sender=deployer)
    assert token.baseURI() == "ipfs://new/"
    assert token.tokenURI(1) == "ipfs://new/1.json"
    [update] = token.BatchMetadataUpdate.from_receipt(receipt)
    assert update._fromTokenId == 1


def test_empty_base_uri_gives_empty_token_uri(deploy_nft, alice):
    token = deploy_nft(base_uri="")
    token.mint(1, sender=alice, value=NFT_PRICE)
    assert token.tokenURI(1) == ""


def test_token_uri_of_missing_token_reverts(nft):
    with reverts_with(nft, "ERC721NonexistentToken", tokenId=7):
        nft.tokenURI(7)


def test_supports_erc721_votes_metadata_interfaces(nft):
    assert nft.supportsInterface("0x80ac58cd")  # ERC-721
    assert nft.supportsInterface("0x5b5e139f")  # ERC-721 metadata
    assert nft.supportsInterface("0x49064906")  # ERC-4906
    assert not nft.supportsInterface("0xffffffff")


def test_mint_self_delegates_so_votes_count_without_extra_step(nft, alice):
    assert nft.delegates(alice) == ZERO_ADDRESS
    nft.mint(2, sender=alice, value=2 * NFT_PRICE)
    assert nft.delegates(alice) == alice
    assert nft.getVotes(alice) == 2


def test_transfer_moves_votes_and_self_delegates_receiver(nft, alice, bob):
    nft.mint(2, sender=alice, value=2 * NFT_PRICE)
    nft.transferFrom(alice, bob, 1, sender=alice)
    assert nft.delegates(bob) == bob
    assert nft.getVotes(alice) == 1
    assert nft.getVotes(bob) == 1


def test_explicit_delegate_is_kept_when_receiving_more(nft, alice, bob, carol):
    nft.mint(1, sender=alice, value=NFT_PRICE)
    # `delegate` is shadowed by an attribute of Ape's ContractInstance.
    receipt = nft.invoke_transaction("delegate", bob, sender=alice)
    assert nft.DelegateChanged.from_receipt(receipt)[0].toDelegate == bob
    assert nft.getVotes(alice) == 0
    assert nft.getVotes(bob) == 1
    nft.mint(1, sender=alice, value=NFT_PRICE)
    assert nft.delegates(alice) == bob
    assert nft.getVotes(bob) == 2
    nft.mint(1, sender=carol, value=NFT_PRICE)
    nft.transferFrom(carol, alice, 3, sender=carol)
    assert nft.getVotes(bob) == 3
    assert nft.getVotes(carol) == 0


def test_past_votes_and_supply_are_checkpointed(nft, chain, alice, bob):
    nft.mint(1, sender=alice, value=NFT_PRICE)
    block_one = chain.blocks.head.number
    nft.mint(2, sender=bob, value=2 * NFT_PRICE)
    chain.mine()
    assert nft.getPastVotes(alice, block_one) == 1
    assert nft.getPastVotes(bob, block_one) == 0
    assert nft.getPastTotalSupply(block_one) == 1
    assert nft.getPastTotalSupply(block_one + 1) == 3


def test_withdraw_to_an_account_that_refuses_ether_reverts_and_keeps_the_funds(
    nft, dao, deployer, alice
):
    nft.mint(1, sender=alice, value=NFT_PRICE)
    with reverts_with(nft, "FailedCall"):
        nft.withdraw(dao.address, sender=deployer)  # the DAO has no receive function
    assert nft.balance == NFT_PRICE
