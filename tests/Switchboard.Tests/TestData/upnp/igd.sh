#!/usr/bin/env bash
# igd.sh — a real NAT gateway for the NAT tests: Debian's miniupnpd (nftables build) serving UPnP IGD and
# NAT-PMP in three Linux network namespaces that this script creates and removes.
#
#   igd.sh up     build the namespaces and start the gateway; print KEY=VALUE lines on stdout (progress goes to
#                 stderr) and exit 0 once an SSDP search, the device description and a SOAP call all work from
#                 the LAN side. Running it again first removes what is there.
#   igd.sh down   stop the daemons and delete the namespaces; exit 0 once nothing is left. Safe to repeat.
#
# Needs root. Missing Debian packages (iproute2 nftables miniupnpd-nftables python3) are apt-get installed
# unless IGD_INSTALL=0. Nothing is added to the host's own namespace. See README.md beside this file.
#
#   <name>-lan                      <name>-gw (miniupnpd, nftables)                   <name>-wan
#   eth0 10.99.0.2/24 ---veth--- lan0 10.99.0.1/24   wan0 203.0.113.1/24 ---veth--- eth0 203.0.113.2/24
#   default via 10.99.0.1          SSDP :1900, HTTP/SOAP :5000, NAT-PMP :5351         STUN :3478 (python3)
#
# Environment:
#   IGD_NAME=sbigd   prefix of the namespace names and of the state folder, so that independent runs (one
#                    test process each) never meet: the addresses live inside the namespaces and may repeat
#   IGD_FORCE_V1=1   advertise IGDv1 instead of miniupnpd's default IGDv2
#   IGD_STUN=0       no STUN responder: the gateway only knows its reserved WAN address and refuses to forward
#   IGD_INSTALL=0    never run apt-get
#   IGD_WAIT_SECS=20 limit of each readiness wait
#   IGD_PURGE=1      down also deletes the state folder (by default its config and logs stay for a post-mortem)
#   TMPDIR           the state folder is $TMPDIR/switchboard-igd-<name> (config, logs, pid files)
set -Eeuo pipefail

readonly NAME="${IGD_NAME:-sbigd}"
case "$NAME" in *[!a-zA-Z0-9_-]*|'') echo "igd: bad IGD_NAME '$NAME'" >&2; exit 2 ;; esac
readonly GW_NS="$NAME-gw" LAN_NS="$NAME-lan" WAN_NS="$NAME-wan"
readonly STATE="${TMPDIR:-/tmp}/switchboard-igd-$NAME"
readonly LAN_IP=10.99.0.2 GW_IP=10.99.0.1 LAN_NET=10.99.0.0/24 WAN_IP=203.0.113.1 PEER_IP=203.0.113.2
readonly HTTP_PORT=5000 STUN_PORT=3478 NATPMP_PORT=5351
readonly WAIT="${IGD_WAIT_SECS:-20}"
readonly MINIUPNPD=/usr/sbin/miniupnpd

note() { echo "igd $NAME: $*" >&2; }
fail() { echo "igd $NAME: ERROR: $*" >&2; exit 1; }

readonly SELF="${BASH_SOURCE[0]}"
# Debian's python3 rather than whatever a user's PATH puts first; found again after install_missing.
find_python() { PY=$(command -v /usr/bin/python3 || command -v python3 || true); }

# True while process $1 exists and has not exited (a zombie that PID 1 has not reaped yet counts as gone).
running() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

ns_exists() { [ -e "/run/netns/$1" ]; }

# ------------------------------------------------------------------------------------------------ down

# Ends the process whose pid is in file $1 if its command name is one of the others: TERM, then KILL after 5 s.
stop_daemon() {
    local file=$1 pid comm; shift
    [ -f "$file" ] || return 0
    pid=$(tr -cd '0-9' <"$file"); rm -f "$file"
    [ -n "$pid" ] && running "$pid" || return 0
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    case " $* " in *" $comm "*) ;; *) note "pid $pid ($file) is now '$comm', leaving it alone"; return 0 ;; esac
    kill -TERM "$pid" 2>/dev/null || return 0
    local i
    for i in $(seq 100); do running "$pid" || return 0; sleep 0.05; done
    note "$comm ($pid) ignored SIGTERM, killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Deletes namespace $1 after ending whatever still runs inside it (a process keeps a namespace alive).
remove_ns() {
    local ns=$1 pids i
    ns_exists "$ns" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    if [ -n "${pids// }" ]; then
        note "ending processes left in $ns: $pids"
        kill -TERM $pids 2>/dev/null || true
        for i in $(seq 60); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.05; done
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        [ -z "${pids// }" ] || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns delete "$ns" 2>/dev/null || true
}

cmd_down() {
    [ "$(id -u)" = 0 ] || fail "must run as root"
    stop_daemon "$STATE/miniupnpd.pid" miniupnpd
    stop_daemon "$STATE/stun.pid" python3 python3.11 python3.12 python3.13 python
    local ns left=""
    for ns in "$LAN_NS" "$WAN_NS" "$GW_NS"; do remove_ns "$ns"; done
    for ns in "$LAN_NS" "$WAN_NS" "$GW_NS"; do ns_exists "$ns" && left="$left $ns"; done
    [ -z "$left" ] || fail "namespaces still present:$left"
    rm -f "$STATE/igd.env"
    if [ "${IGD_PURGE:-0}" = 1 ]; then  # only the files up writes; never a recursive delete
        rm -f "$STATE"/{miniupnpd.conf,miniupnpd.log,miniupnpd.pid,miniupnpd.self.pid,stun.py,stun.log,stun.pid,nft.rules,probe.err}
        rmdir "$STATE" 2>/dev/null || true
        rm -f "$STATE.lock"
    fi
    note "down"
}

# ------------------------------------------------------------------------------------------------ up

# The test fixture names its gateway sbt<pid>; one that outlived its test process (kill -9) is removed here.
sweep_orphans() {
    local owner
    for owner in $(ip netns list 2>/dev/null | sed -nE 's/^sbt([0-9]+)-(gw|lan|wan)( .*)?$/\1/p' | sort -u); do
        [ "sbt$owner" != "$NAME" ] && ! running "$owner" || continue
        note "removing the gateway sbt$owner: process $owner is gone"
        IGD_NAME="sbt$owner" IGD_PURGE=1 bash "$SELF" down >/dev/null 2>&1 || note "could not remove sbt$owner"
    done
}

install_missing() {
    local packages=()
    command -v ip >/dev/null || packages+=(iproute2)
    command -v nft >/dev/null || packages+=(nftables)
    [ -x "$MINIUPNPD" ] || packages+=(miniupnpd-nftables)
    find_python; [ -n "$PY" ] || packages+=(python3)
    [ ${#packages[@]} -eq 0 ] && return 0
    [ "${IGD_INSTALL:-1}" != 0 ] || fail "missing packages: ${packages[*]} (IGD_INSTALL=0)"
    note "installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=120 -y --no-install-recommends)
    # An empty or stale package list is the usual reason the first attempt fails.
    "${apt[@]}" install "${packages[@]}" >&2 \
        || { "${apt[@]}" update >&2 && "${apt[@]}" install "${packages[@]}" >&2; } \
        || fail "apt-get could not install ${packages[*]}"
}

# Runs "$@" inside namespace $1 as a daemon in its own session: stdin from /dev/null, stdout and stderr to file
# $2, and no other descriptor inherited from us (our lock, a caller's pipes), so that a caller reading our output
# to its end is not kept waiting by the daemon. Its pid (the subshell execs into it) is written to file $3.
daemon() {
    local ns=$1 log=$2 pidfile=$3; shift 3
    (
        cd /
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
        done
        exec ip netns exec "$ns" setsid "$@" </dev/null >"$log" 2>&1
    ) &
    echo $! >"$pidfile"
}

# Waits until "$@" succeeds; fails with message $1 after $WAIT seconds, or at once if the daemon in pid file $2 exits.
await() {
    local what=$1 pidfile=$2 until=$((SECONDS + WAIT)); shift 2
    until "$@"; do
        running "$(cat "$pidfile")" || fail "$what: the daemon exited (log: ${pidfile%.pid}.log)"
        [ $SECONDS -lt $until ] || fail "$what: not within ${WAIT}s"
        sleep 0.05
    done
}

udp_bound() { ip netns exec "$1" ss -Hnul "sport = :$2" | grep -q .; }

write_nft_rules() {
    # miniupnpd adds its DNAT rules to prerouting_miniupnpd and its accept rules to the chain "miniupnpd" of table
    # inet filter (the upnp_* names in its config), but it creates neither the table nor the chains.
    cat >"$STATE/nft.rules" <<EOF
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "lan0" oifname "wan0" accept
        jump miniupnpd
    }
    chain miniupnpd {
    }
    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        jump prerouting_miniupnpd
    }
    chain prerouting_miniupnpd {
    }
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        jump postrouting_miniupnpd
        oifname "wan0" ip saddr $LAN_NET masquerade
    }
    chain postrouting_miniupnpd {
    }
}
EOF
}

write_stun_responder() {
    # miniupnpd refuses to forward while its WAN address is private or reserved, and 203.0.113.0/24 (TEST-NET-3)
    # is on its list. With ext_perform_stun it asks a STUN server for its public address instead: this one answers
    # every Binding Request with the address the request came from (203.0.113.1), so miniupnpd sees a 1:1 NAT and
    # forwards. CHANGE-REQUEST is not honoured; miniupnpd takes that as "no filtering".
    cat >"$STATE/stun.py" <<'EOF'
import socket, struct, sys
COOKIE = 0x2112A442
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    request, (host, port) = sock.recvfrom(2048)
    if len(request) < 20 or struct.unpack_from("!H", request)[0] != 0x0001:
        continue  # not a Binding Request
    cookie, = struct.unpack_from("!I", request, 4)
    addr = socket.inet_aton(host)
    body = struct.pack("!HHxBH4s", 0x0001, 8, 1, port, addr)  # MAPPED-ADDRESS, IPv4
    if cookie == COOKIE:  # RFC 5389 client: XOR-MAPPED-ADDRESS as well
        xaddr = bytes(a ^ b for a, b in zip(addr, struct.pack("!I", COOKIE)))
        body += struct.pack("!HHxBH4s", 0x0020, 8, 1, port ^ (COOKIE >> 16), xaddr)
    sock.sendto(struct.pack("!HHI", 0x0101, len(body), cookie) + request[8:20] + body, (host, port))
    print("answered %s:%d" % (host, port), flush=True)
EOF
}

write_miniupnpd_conf() {
    local v1=no stun=""
    [ "$FORCE_V1" = 1 ] && v1=yes
    [ "$STUN" = 1 ] && stun="ext_perform_stun=yes
ext_stun_host=$PEER_IP
ext_stun_port=$STUN_PORT"
    cat >"$STATE/miniupnpd.conf" <<EOF
# written by igd.sh for the Switchboard NAT tests
ext_ifname=wan0
listening_ip=lan0
port=$HTTP_PORT
ipv6_disable=yes
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=no
uuid=$(cat /proc/sys/kernel/random/uuid)
friendly_name=Switchboard test gateway
model_number=1
serial=12345678
# Without explicit bitrates the veth's 10 Gbit/s overflows the 32-bit fields of the description.
bitrate_down=100000000
bitrate_up=20000000
notify_interval=30
clean_ruleset_interval=600
min_lifetime=120
max_lifetime=86400
force_igd_desc_v1=$v1
$stun
upnp_table_name=filter
upnp_nat_table_name=filter
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
# A LAN host may map ports 1024-65535 to itself (secure_mode), nothing else.
allow 1024-65535 $LAN_NET 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
}

# Run in the LAN namespace: the SSDP search a client makes, the description, then SOAP GetExternalIPAddress.
# Prints KEY=VALUE lines when the gateway answered all three (with address argv[2], or anything when argv[2] is
# empty); exits 1 with the reason otherwise.
readonly PROBE='
import socket, sys, urllib.error, urllib.parse, urllib.request, xml.etree.ElementTree as ET
lan_ip, want = sys.argv[1], sys.argv[2]
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy from the environment
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((lan_ip, 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(lan_ip))
s.settimeout(1.5)  # miniupnpd delays its answer by up to MX = 1 s
s.sendto(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
         b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n", ("239.255.255.250", 1900))
try:
    reply = s.recv(4096).decode("latin-1")
except socket.timeout:
    sys.exit("no SSDP answer")
headers = dict((k.strip().lower(), v.strip()) for k, _, v in (l.partition(":") for l in reply.split("\r\n")[1:]) if k)
location = headers.get("location") or sys.exit("SSDP answer without LOCATION")
d = "{urn:schemas-upnp-org:device-1-0}"
root = ET.fromstring(http.open(location, timeout=3).read())
device_type = root.find(d + "device").findtext(d + "deviceType")
service = next((x for x in root.iter(d + "service") if ":WANIPConnection:" in (x.findtext(d + "serviceType") or "")), None)
if service is None:
    sys.exit("no WANIPConnection service in " + location)
service_type = service.findtext(d + "serviceType")
control = urllib.parse.urljoin(location, service.findtext(d + "controlURL"))
envelope = ("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
            "<u:GetExternalIPAddress xmlns:u=\"%s\"/></s:Body></s:Envelope>" % service_type)
request = urllib.request.Request(control, envelope.encode(), {"Content-Type": "text/xml; charset=\"utf-8\"",
                                                              "SOAPAction": "\"%s#GetExternalIPAddress\"" % service_type})
try:
    answer = http.open(request, timeout=3).read().decode()
except urllib.error.HTTPError as e:  # a SOAP fault is an answer too
    answer = e.read().decode()
external = answer.partition("<NewExternalIPAddress>")[2].partition("</NewExternalIPAddress>")[0]
if want and external != want:
    sys.exit("external address %r, waiting for %r" % (external, want))
print("IGD_ROOTDESC_URL=" + location)
print("IGD_DEVICE_TYPE=" + device_type)
print("IGD_SERVICE_TYPE=" + service_type)
print("IGD_CONTROL_URL=" + control)
print("IGD_EXTERNAL_IP=" + external)
'

cmd_up() {
    [ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, nftables)"
    case "${IGD_FORCE_V1:-0}" in 1|yes|true) FORCE_V1=1 ;; *) FORCE_V1=0 ;; esac
    case "${IGD_STUN:-1}" in 0|no|false) STUN=0 ;; *) STUN=1 ;; esac
    install_missing
    find_python
    [ -n "$PY" ] || fail "python3 not found"
    for tool in ip nft ss setsid flock; do command -v $tool >/dev/null || fail "'$tool' not found"; done
    local version
    version=$("$MINIUPNPD" --version 2>&1 || true)
    [[ "$version" == *nftables* ]] || fail "$MINIUPNPD is not the nftables build: $version"
    version=$(awk 'NR == 1 { print $2 }' <<<"$version")

    mkdir -p "$STATE"
    exec 8>"$STATE.lock"
    flock -w 120 8 || fail "another igd.sh holds $STATE.lock"
    # From here on a failure tears down what was built (the logs stay in $STATE for a post-mortem).
    trap 'rc=$?; if [ $rc -ne 0 ]; then for f in miniupnpd stun; do [ -s "$STATE/$f.log" ] && { note "$f.log:"; tail -n 20 "$STATE/$f.log" | sed "s/^/    /" >&2; }; done; cmd_down >/dev/null 2>&1 || true; fi' EXIT
    sweep_orphans
    cmd_down 2>/dev/null
    rm -f "$STATE"/{miniupnpd.conf,miniupnpd.log,miniupnpd.pid,miniupnpd.self.pid,stun.py,stun.log,stun.pid,nft.rules,probe.err,igd.env}

    note "namespaces $GW_NS, $LAN_NS, $WAN_NS"
    local ns
    for ns in "$GW_NS" "$LAN_NS" "$WAN_NS"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # IPv4 only (miniupnpd runs with ipv6_disable): no link-local chatter.
        ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w $f ] && echo 1 >$f; done; true'
    done
    # Both ends of each veth are created inside the namespaces.
    ip -n "$GW_NS" link add lan0 type veth peer name eth0 netns "$LAN_NS"
    ip -n "$GW_NS" link add wan0 type veth peer name eth0 netns "$WAN_NS"
    ip -n "$GW_NS" addr add "$GW_IP/24" dev lan0
    ip -n "$GW_NS" addr add "$WAN_IP/24" dev wan0
    ip -n "$LAN_NS" addr add "$LAN_IP/24" dev eth0
    ip -n "$WAN_NS" addr add "$PEER_IP/24" dev eth0
    ip -n "$GW_NS" link set lan0 up
    ip -n "$GW_NS" link set wan0 up
    ip -n "$LAN_NS" link set eth0 up
    ip -n "$WAN_NS" link set eth0 up
    ip -n "$LAN_NS" route add default via "$GW_IP"
    # The gateway forwards between its two links only: it has no default route, and the WAN namespace does not
    # forward, so nothing sent from the LAN side can leave for the real network.
    ip netns exec "$GW_NS" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'

    write_nft_rules
    ip netns exec "$GW_NS" nft -f "$STATE/nft.rules"

    if [ "$STUN" = 1 ]; then
        write_stun_responder
        daemon "$WAN_NS" "$STATE/stun.log" "$STATE/stun.pid" "$PY" -u "$STATE/stun.py" "$PEER_IP" "$STUN_PORT"
        await "STUN responder on $PEER_IP:$STUN_PORT" "$STATE/stun.pid" udp_bound "$WAN_NS" "$STUN_PORT"
    fi

    write_miniupnpd_conf
    note "miniupnpd $version (log: $STATE/miniupnpd.log)"
    # -d: stay in the foreground and log to stdout (there is no syslog here); -P: the pid file miniupnpd writes
    # (and removes) itself goes to $STATE, not /run/miniupnpd.pid. Ours, from the launch, is miniupnpd.pid.
    daemon "$GW_NS" "$STATE/miniupnpd.log" "$STATE/miniupnpd.pid" "$MINIUPNPD" -d -f "$STATE/miniupnpd.conf" -P "$STATE/miniupnpd.self.pid"

    local want="" found="" until=$((SECONDS + WAIT))
    [ "$STUN" = 1 ] && want=$WAN_IP
    until found=$(ip netns exec "$LAN_NS" timeout 10 "$PY" -c "$PROBE" "$LAN_IP" "$want" 2>"$STATE/probe.err"); do
        running "$(cat "$STATE/miniupnpd.pid")" || fail "miniupnpd exited"
        [ $SECONDS -lt $until ] || fail "the gateway did not answer from $LAN_NS within ${WAIT}s: $(tail -n 3 "$STATE/probe.err")"
        sleep 0.1
    done

    {
        echo "IGD_NAME=$NAME"
        echo "IGD_GW_NS=$GW_NS"
        echo "IGD_LAN_NS=$LAN_NS"
        echo "IGD_WAN_NS=$WAN_NS"
        echo "IGD_LAN_IP=$LAN_IP"
        echo "IGD_GW_IP=$GW_IP"
        echo "IGD_WAN_IP=$WAN_IP"
        echo "IGD_WAN_PEER_IP=$PEER_IP"
        echo "$found"
        echo "IGD_NATPMP_ADDR=$GW_IP:$NATPMP_PORT"
        echo "IGD_PORT_FORWARDING=$([ "$STUN" = 1 ] && echo yes || echo no)"
        echo "IGD_MINIUPNPD_VERSION=$version"
        echo "IGD_STATE_DIR=$STATE"
    } >"$STATE/igd.env"
    cat "$STATE/igd.env"
    note "up after ${SECONDS}s: $(grep IGD_DEVICE_TYPE= "$STATE/igd.env" | cut -d= -f2), external address ${want:-none (IGD_STUN=0)}"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    *) echo "usage: $0 up|down   (environment: see the top of this file)" >&2; exit 2 ;;
esac
