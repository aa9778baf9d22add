#!/usr/bin/env bash
# fuzz/run.sh <target> <seconds>  — one coverage-guided AFL++ campaign on one target, for about that long.
#
# Builds fuzz/Switchboard.Fuzz, instruments Switchboard.dll and Google.Protobuf.dll with SharpFuzz (the local tool
# in fuzz/.config/dotnet-tools.json), runs afl-fuzz in SharpFuzz's persistent mode from fuzz/corpora/<target>,
# then keeps what it found: new queue entries go to fuzz/corpora/<target>/q-<sha1>, crashes and hangs to
# fuzz/crashes/<target>/{crash,hang}-<sha1> (replayed by tests/Switchboard.Tests FuzzCorpusTests). Prints the
# campaign's numbers from afl's fuzzer_stats and appends them to fuzz/campaigns.tsv.
#
# Everything runs under nice -n 19 (the machine is shared). `fuzz/run.sh list` lists the targets.
# Needs afl-fuzz (Debian: apt-get install afl++; installed here when run as root) and the .NET SDK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work="$here/.work"
out="$work/bin"

build() {
    if [[ ! -f "$out/.instrumented" || -n "$(find "$here/Switchboard.Fuzz" "$here/Switchboard.Fuzz.Targets" "$here/../src/Switchboard" "$here/../src/Switchboard.Cli" \
            -name '*.cs' -newer "$out/.instrumented" -print -quit)" ]]; then
        rm -rf "$out"
        nice -n 19 dotnet build "$here/Switchboard.Fuzz/Switchboard.Fuzz.csproj" -c Release -o "$out" -p:UseAppHost=false >"$work/build.log" 2>&1 \
            || { cat "$work/build.log"; exit 1; }
        (cd "$here" && dotnet tool restore >/dev/null)
        for dll in Switchboard.dll Google.Protobuf.dll Switchboard.Cli.dll Tomlyn.dll; do
            (cd "$here" && nice -n 19 dotnet tool run sharpfuzz "$out/$dll") >/dev/null
        done
        touch "$out/.instrumented"
    fi
}

mkdir -p "$work"
if [[ "${1:-}" == "list" ]]; then build; dotnet "$out/Switchboard.Fuzz.dll" list; exit 0; fi
if [[ $# -ne 2 || ! "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh <target> <seconds> | fuzz/run.sh list" >&2
    exit 2
fi
target=$1 seconds=$2

if ! command -v afl-fuzz >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "afl-fuzz not found: installing Debian's afl++" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++) >&2
    else
        echo "afl-fuzz not found: install AFL++ (Debian/Ubuntu: sudo apt-get install afl++) and run again" >&2
        exit 2
    fi
fi
if [[ ! -d "$here/corpora/$target" ]]; then
    echo "no corpus fuzz/corpora/$target (targets: $(ls "$here/corpora" | tr '\n' ' '))" >&2
    exit 2
fi
build

findings="$work/findings/$target"
rm -rf "$findings"
mkdir -p "$findings"
echo "fuzzing $target for ${seconds}s (findings in $findings)" >&2
# AFL_SKIP_BIN_CHECK: the target is `dotnet`, instrumented by SharpFuzz at the IL level, not by afl-cc.
# -t 10000: a run that takes 10 s is a hang (the first runs include JIT compilation); -m none: the .NET runtime
# reserves far more address space than it uses, so allocation is bounded by the targets themselves instead.
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    nice -n 19 afl-fuzz -V "$seconds" -t 10000 -m none -i "$here/corpora/$target" -o "$findings" \
    -- dotnet "$out/Switchboard.Fuzz.dll" "$target" >"$work/afl-$target.log" 2>&1 || {
        echo "afl-fuzz failed; the end of its log:" >&2; tail -40 "$work/afl-$target.log" >&2; exit 1; }

keep() { # keep <from folder> <to folder> <prefix>: content-addressed copies, skipping contents already kept
    local from=$1 to=$2 prefix=$3 n=0 f sum
    [[ -d "$from" ]] || { echo 0; return; }
    mkdir -p "$to"
    for f in "$from"/id:*; do
        [[ -f "$f" ]] || continue
        sum=$(sha1sum "$f" | cut -c1-40)
        if ! compgen -G "$to/*-$sum" >/dev/null; then cp "$f" "$to/$prefix-$sum"; n=$((n + 1)); fi
    done
    echo $n
}
stats="$findings/default/fuzzer_stats"
kept=$(keep "$findings/default/queue" "$here/corpora/$target" q)
crashes=$(keep "$findings/default/crashes" "$here/crashes/$target" crash)
hangs=$(keep "$findings/default/hangs" "$here/crashes/$target" hang)
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
execs=$(stat execs_done) eps=$(stat execs_per_sec) edges=$(stat edges_found) total=$(stat total_edges)
cvg=$(stat bitmap_cvg) runtime=$(( $(stat last_update) - $(stat start_time) ))
printf '%s: %s executions in %ss (%s/s), %s edges of %s (map density %s), %s saved crashes, %s saved hangs; %s new corpus files\n' \
    "$target" "$execs" "$runtime" "$eps" "$edges" "$total" "$cvg" "$(stat saved_crashes)" "$(stat saved_hangs)" "$kept"
[[ -f "$here/campaigns.tsv" ]] || printf 'date\ttarget\tseconds\texecutions\texecs_per_sec\tedges_found\tmap_density\tcrashes\thangs\tcorpus_count\n' >"$here/campaigns.tsv"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$target" "$runtime" "$execs" "$eps" "$edges" "$cvg" \
    "$(stat saved_crashes)" "$(stat saved_hangs)" "$(stat corpus_count)" >>"$here/campaigns.tsv"
[[ $crashes -eq 0 && $hangs -eq 0 ]] || { echo "new crashes: $crashes, new hangs: $hangs in fuzz/crashes/$target" >&2; exit 3; }
