#!/usr/bin/env bash
# attack.sh [REPO] [PORT] [LABEL]: starts REPO's `switchboard start --echo 0x77` (REPO: this repository by default,
# or any checkout of it, e.g. an older commit, built with `dotnet build -c Release`) on 127.0.0.1:PORT and runs the
# slow-peer attack (bench/SlowPeerAttack) against it: 3 peers that send 4 MiB messages and never read, reconnecting
# when cut, and one honest peer measuring its echo round trips; prints the node's RSS growth and the echo latency.
# DURATION=45 sets the attack's length in seconds. Build first: dotnet build bench/SlowPeerAttack -c Release
set -u
here="$(cd "$(dirname "$0")" && pwd)"
repo=${1:-$(cd "$here/../.." && pwd)}; port=${2:-36656}; label=${3:-node}
home=/tmp/sb-attack-$label; rm -rf $home
cli="dotnet $repo/src/Switchboard.Cli/bin/Release/net10.0/Switchboard.Cli.dll"
$cli init --home $home >/dev/null 2>&1
# every peer comes from 127.0.0.1: allow that (CometBFT's allow_duplicate_ip)
[ -f $home/config/config.json ] && sed -i "s/\"allow_duplicate_ip\": false/\"allow_duplicate_ip\": true/" $home/config/config.json  # before config.toml
id=$($cli show-node-id --home $home)
extra=""; [ -f $home/config/config.toml ] && extra="--allow-duplicate-ip true --rpc-laddr tcp://127.0.0.1:0"
$cli start --home $home --laddr tcp://127.0.0.1:$port --echo 0x77 --pex false --log-level Warning $extra > $home.log 2>&1 &
node=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
sleep 1
echo "== $label"
dotnet "$here/bin/Release/net10.0/SlowPeerAttack.dll" $id@127.0.0.1:$port --pid $node --attackers 3 --duration ${DURATION:-30} --idle 15
kill -TERM $node; wait $node 2>/dev/null
grep -c "" $home.log | xargs echo "node log lines:"; tail -3 $home.log
