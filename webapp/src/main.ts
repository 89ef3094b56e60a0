// Entry point: read config.json, then start the app (or say why it cannot start).
import { loadConfig } from "./config";
import { App } from "./ui/app";
import { h } from "./ui/dom";

async function main(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  try {
    const config = await loadConfig();
    new App(config, root).start();
  } catch (error) {
    root.replaceChildren(
      h(
        "main",
        { id: "main" },
        h("h1", {}, "The app cannot start"),
        h("p", { role: "alert", testid: "error" }, error instanceof Error ? error.message : String(error)),
      ),
    );
  }
}

void main();
