# Sourced by ./dev (which .ci/run runs), with $root set to the checkout: puts a Node >= 22.12 first on PATH.
# @pulumi/pulumi 3.276 needs Node >= 22 and vitest 5 needs >= 22.12; the project targets
# Node 24 (Lambda nodejs24.x). When the machine's node is older, Node 24 comes from the npm
# registry's per-platform node packages (what the `node` package installs) into .tools/.
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! node_ok; then
  tools="$root/.tools/node"
  if [ ! -x "$tools/bin/node" ]; then
    # The bootstrap installs through npm, so it needs the older Node's npm.
    command -v npm >/dev/null 2>&1 || {
      echo "no Node >= 22.12 and no npm to fetch one with: install Node 24 (https://nodejs.org), then run again" >&2
      exit 1
    }
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "unsupported architecture $(uname -m): install Node 24 yourself" >&2; exit 1 ;;
    esac
    os=$(uname -s | tr '[:upper:]' '[:lower:]')
    pkg="node-$os-$arch@24"
    echo "Node >= 22.12 not found; installing $pkg from the npm registry into .tools/" >&2
    tmp=$(mktemp -d)
    npm install --no-save --no-audit --no-fund --prefix "$tmp" "$pkg" >&2
    mkdir -p "$tools"
    cp -R "$tmp/node_modules/node-$os-$arch/." "$tools/"
    rm -rf "$tmp"
  fi
  export PATH="$tools/bin:$PATH"
  node_ok || { echo "bootstrapped node did not start" >&2; exit 1; }
fi
