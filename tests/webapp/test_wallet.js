// A test wallet injected into the page before it loads (Playwright's add_init_script), with
// WALLET = {rpcUrl, account, chainId, walletChainId, name, uuid, rdns} prepended by the test. It is an EIP-1193
// provider announced with EIP-6963, like MetaMask or Rabby, that forwards JSON-RPC to anvil;
// anvil signs eth_sendTransaction for its unlocked dev accounts, so no key is ever in the page.
// `walletChainId` is the network the wallet starts on (another one tests the wrong-network banner);
// wallet_switchEthereumChain moves it to the DAO's chain. `window.testWallets[rdns].useAccount(address)`
// switches accounts as a user would in the wallet.
(() => {
  const config = WALLET;
  let chainId = config.walletChainId || config.chainId;
  let account = config.account;
  let connected = false;
  let nextId = 1;
  const listeners = {};

  function rpcError(code, message, data) {
    return Object.assign(new Error(message), { code, data });
  }

  function emit(event, value) {
    for (const listener of listeners[event] || []) listener(value);
  }

  async function forward(method, params) {
    const response = await fetch(config.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
    });
    const body = await response.json();
    if (body.error) throw rpcError(body.error.code, body.error.message, body.error.data);
    return body.result;
  }

  const provider = {
    isTestWallet: true,
    async request({ method, params = [] }) {
      switch (method) {
        case "eth_requestAccounts":
          connected = true;
          emit("connect", { chainId });
          return [account];
        case "eth_accounts":
          return connected ? [account] : [];
        case "eth_chainId":
          return chainId;
        case "net_version":
          return String(parseInt(chainId, 16));
        case "wallet_switchEthereumChain": {
          const wanted = String(params[0] && params[0].chainId).toLowerCase();
          if (wanted !== config.chainId) throw rpcError(4902, `Unrecognized chain ID ${wanted}`);
          chainId = wanted;
          emit("chainChanged", chainId);
          return null;
        }
        case "wallet_addEthereumChain":
          return null;
        case "eth_sendTransaction":
          if (!connected) throw rpcError(4100, "The requested account has not been authorized");
          if (chainId !== config.chainId) throw rpcError(4901, "The wallet is on another chain");
          return forward(method, params);
        default:
          return forward(method, params);
      }
    },
    on(event, listener) {
      (listeners[event] = listeners[event] || []).push(listener);
      return provider;
    },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] || []).filter((l) => l !== listener);
      return provider;
    },
  };

  const info = Object.freeze({
    uuid: config.uuid,
    name: config.name,
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 8 8'%3E%3Crect width='8' height='8' fill='%23555'/%3E%3C/svg%3E",
    rdns: config.rdns,
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();

  window.testWallets = window.testWallets || {};
  window.testWallets[config.rdns] = {
    useAccount(address) {
      account = address;
      emit("accountsChanged", [address]);
    },
  };
})();
