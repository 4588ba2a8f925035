#!/bin/bash
# The floor for the benchmark: the lab's bring-up to chapter-5-ready done by a bare script,
# with no harness (no Python, no pyroute2, no agent): the same node boot script as the netns
# provider (lab/providers/netns-node.sh, netns-boot.sh), a bridge in its own namespace, the same
# provisioning scripts with the same settings (lab/provision/ch*.sh), then the same wait: until
# the preferred balancer holds the VIP. What the lab takes beyond this is the harness's own cost.
# Prints the seconds to chapter-5-ready; errors to stderr; cleans up after itself.
# Usage: floor.sh IMAGE_ROOT PLAN   (root, on a kernel with IPVS)
#   PLAN (written by lab/bench.py from the cluster data, untimed) sets LAB_* (the provisioning
#   settings), NODES ("name:role:address[,alias...]" words), IFACE, PREFIXLEN, BROADCAST, VIP,
#   PREFERRED, HOSTS (an /etc/hosts) and SCRIPTS_<role> (the stage ch5 scripts of each role).
set -euo pipefail
IMAGE=$1
# shellcheck disable=SC1090
. "$2"
HERE=$(cd "$(dirname "$0")/.." && pwd)
P=lvsfloor-$$
DIR=/run/$P
MODULES=/lib/modules/$(uname -r)
NODE_DIR=/usr/local/lib/lvslab/provision
declare -A UNSHARE INIT ROLE ADDRS

cleanup() {
    for n in "${!UNSHARE[@]}"; do kill -9 "${UNSHARE[$n]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for n in switch "${!ROLE[@]}"; do ip netns del "$P-$n" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT
started=$(date +%s.%N)

for word in $NODES; do
    IFS=: read -r n role addrs <<<"$word"
    ROLE[$n]=$role
    ADDRS[$n]=${addrs//,/ }
done
ip netns add "$P-switch"
ip -n "$P-switch" link add br0 type bridge
ip -n "$P-switch" link set br0 up
for n in "${!ROLE[@]}"; do  # every node boots at once, as the provider starts them
    mkdir -p "$DIR/$n/upper/etc" "$DIR/$n/upper/usr/lib/lvslab" "$DIR/$n/work" "$DIR/$n/root"
    echo "$n" >"$DIR/$n/upper/etc/hostname"
    printf '%s\n' "$HOSTS" >"$DIR/$n/upper/etc/hosts"
    cp "$HERE/providers/netns-boot.sh" "$DIR/$n/upper/usr/lib/lvslab/boot"
    setsid unshare --net --uts --ipc --mount --pid --fork --kill-child --propagation private \
        -- /bin/sh "$HERE/providers/netns-node.sh" "$n" "$IMAGE" "$DIR/$n" "$MODULES" \
        </dev/null >"$DIR/$n/console.log" 2>&1 &
    UNSHARE[$n]=$!
done
for n in "${!ROLE[@]}"; do
    for _ in $(seq 1200); do [ -e "$DIR/$n/ready" ] && break; sleep 0.05; done
    [ -e "$DIR/$n/ready" ] || { echo "floor: node $n did not start: $(cat "$DIR/$n/console.log")" >&2; exit 1; }
    INIT[$n]=$(cat "/proc/${UNSHARE[$n]}/task/${UNSHARE[$n]}/children")
    INIT[$n]=${INIT[$n]%% *}
    ip netns attach "$P-$n" "${INIT[$n]}"
    ip -n "$P-switch" link add "$n" type veth peer name "$IFACE" netns "$P-$n"
    ip -n "$P-switch" link set "$n" master br0 up
    ip -n "$P-$n" link set lo up
    for a in ${ADDRS[$n]}; do ip -n "$P-$n" addr add "$a/$PREFIXLEN" brd "$BROADCAST" dev "$IFACE"; done
    ip -n "$P-$n" link set "$IFACE" up
done

enter() { local n=$1; shift; nsenter -t "${INIT[$n]}" -m -u -i -n -p -r -w -- "$@"; }
# The provisioning scripts, copied in and run as the provider runs them (bash, the LAB_* settings).
settings=$(compgen -e | grep '^LAB_' | while read -r v; do printf '%s=%q ' "$v" "${!v}"; done)
for n in "${!ROLE[@]}"; do
    scripts_var=SCRIPTS_${ROLE[$n]}
    (
        tar -C "$HERE/provision" -c --exclude='*.py' --exclude=__pycache__ . |
            enter "$n" sh -c "mkdir -p $NODE_DIR && tar -x -C $NODE_DIR"
        for script in ${!scripts_var:-}; do
            if ! enter "$n" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                    HOME=/root LANG=C.UTF-8 sh -c "export $settings; exec bash $NODE_DIR/$script" \
                    >"$DIR/$n.$script.log" 2>&1; then
                echo "floor: $script failed on $n:" >&2; tail -n 20 "$DIR/$n.$script.log" >&2; exit 1
            fi
        done
    ) &
done
wait_status=0
for job in $(jobs -p); do
    case " ${UNSHARE[*]} " in *" $job "*) continue ;; esac
    wait "$job" || wait_status=$?
done
[ "$wait_status" = 0 ] || exit 1
# The same wait as the lab's stage ch5: the preferred balancer lists the VIP on its LAN interface.
for _ in $(seq 3000); do
    if ip -n "$P-$PREFERRED" -o addr show dev "$IFACE" | grep -q " $VIP/"; then
        awk -v now="$(date +%s.%N)" -v t0="$started" 'BEGIN { printf "%.1f\n", now - t0 }'
        exit 0
    fi
    sleep 0.1
done
echo "floor: $PREFERRED never held the VIP $VIP" >&2
exit 1
