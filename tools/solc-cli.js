#!/usr/bin/env node
// A native-compatible command line for the WebAssembly Solidity compiler from the npm `solc` package.
//
// py-solc-x (used by ape-solidity) drives a compiler binary named `solc-v<X.Y.Z>` with two calls:
//   <binary> --version
//   <binary> --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths A,B]  (JSON on stdin)
// This script answers exactly those, so Ape compiles offline with the official compiler build
// (bytecode equal to the native compiler's for the same version and settings).
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: process.cwd(), includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`option ${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = value();
    else if (arg === "--include-path") opts.includePaths.push(value());
    else if (arg === "--allow-paths") opts.allowPaths.push(...value().split(",").filter(Boolean));
    else if (arg === "-" ) continue;
    else fail(`unsupported option ${arg} (this wrapper supports --version and --standard-json)`);
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`solc-cli: ${message}\n`);
  process.exit(1);
}

function isInside(file, dir) {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths];
  const allowed = [...roots, ...opts.allowPaths];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      if (!allowed.some((dir) => isInside(candidate, dir))) continue;
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, "utf8") };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) fail("nothing to do: pass --version or --standard-json");
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: makeImportCallback(opts) }));
}

main();
