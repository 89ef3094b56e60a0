// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title PeerDeployExecutor
 * @notice BENCHMARK PEER ONLY — not part of the product. The action of a {PeerGovernor} proposal:
 * it announces what to deploy, as {SpheronDevsDAO}'s `DeployEvent` does, either with the JSON itself
 * (the JSON travels in the proposal's calldata) or with its hash (the JSON is in the proposal's
 * description, which the Governor emits at creation but does not receive at execution).
 */
contract PeerDeployExecutor {
    /// @notice Only `governor` may call; `caller` did.
    error PeerDeployExecutorUnauthorized(address caller);

    /// @notice Deploy the instance described by `spheronInstanceJson`.
    event DeployEvent(string spheronInstanceJson);

    /// @notice Deploy the instance whose JSON (in the proposal's description) hashes to `specHash`.
    event DeploySpecHash(bytes32 specHash);

    /// @notice The Governor whose executed proposals call this contract.
    address public immutable governor;

    constructor(address governor_) {
        governor = governor_;
    }

    /// @notice Emits {DeployEvent} with `spheronInstanceJson`. Governor only.
    function deploy(string calldata spheronInstanceJson) external {
        _onlyGovernor();
        emit DeployEvent(spheronInstanceJson);
    }

    /// @notice Emits {DeploySpecHash} with `specHash`. Governor only.
    function deploySpecHash(bytes32 specHash) external {
        _onlyGovernor();
        emit DeploySpecHash(specHash);
    }

    function _onlyGovernor() private view {
        if (msg.sender != governor) revert PeerDeployExecutorUnauthorized(msg.sender);
    }
}
