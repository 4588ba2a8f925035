#!/bin/bash
# The floor for the benchmark: the same end state as the lab at chapter 6 (namespaces,
# bridge, IPVS direct-routing service, VIP on lo of the web nodes, Apache running), built
# by a bare script with no harness, no heartbeat and no ldirectord. Then one request
# through the VIP proves it works. Prints nothing but errors; cleans up after itself.
# Usage: floor.sh IMAGE_ROOT   (run as root on a kernel with IPVS)
set -euo pipefail
IMAGE=$1
P=lvsfloor-$$
DIR=/run/$P
VIP=192.168.0.105
declare -A ADDR=([webserver1]=192.168.0.101 [webserver2]=192.168.0.102 [loadb1]=192.168.0.103 [client]=192.168.0.50)
declare -A PID

cleanup() {
    for n in "${!PID[@]}"; do
        kill -9 "${PID[$n]}" 2>/dev/null || true
        wait "${PID[$n]}" 2>/dev/null || true
    done
    for n in switch "${!ADDR[@]}"; do ip netns del "$P-$n" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$P-switch"
ip -n "$P-switch" link add br0 type bridge
ip -n "$P-switch" link set br0 up
for n in "${!ADDR[@]}"; do
    ip netns add "$P-$n"
    ip -n "$P-switch" link add "$n" type veth peer name eth0 netns "$P-$n"
    ip -n "$P-switch" link set "$n" master br0 up
    ip -n "$P-$n" addr add "${ADDR[$n]}/24" dev eth0
    ip -n "$P-$n" link set eth0 up
    ip -n "$P-$n" link set lo up
done
modprobe -a ip_vs ip_vs_rr
# ipvsadm and curl come from the node image (this machine need not have them).
in_image() { local ns=$1; shift; ip netns exec "$P-$ns" chroot "$IMAGE" "$@"; }
ip -n "$P-loadb1" addr add "$VIP/24" dev eth0
in_image loadb1 ipvsadm -A -t "$VIP:80" -s rr
for n in webserver1 webserver2; do
    in_image loadb1 ipvsadm -a -t "$VIP:80" -r "${ADDR[$n]}:80" -g -w 1
    ip netns exec "$P-$n" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    ip -n "$P-$n" addr add "$VIP/32" dev lo
    # Apache needs a Debian root: the same overlay-and-chroot the lab's nodes use.
    mkdir -p "$DIR/$n/"{upper,work,root}
    ip netns exec "$P-$n" unshare --mount --pid --fork --kill-child --propagation private sh -c "
        mount -t overlay o -o lowerdir=$IMAGE,upperdir=$DIR/$n/upper,workdir=$DIR/$n/work $DIR/$n/root
        mount -t proc proc $DIR/$n/root/proc; mount -t tmpfs run $DIR/$n/root/run
        mount --bind /dev $DIR/$n/root/dev
        exec chroot $DIR/$n/root sh -c 'mkdir -p /run/lock; apache2ctl start; exec sleep infinity'" </dev/null >"$DIR/$n.log" 2>&1 &
    PID[$n]=$!
done
for _ in $(seq 100); do
    if in_image client curl -sSf -m 2 "http://$VIP/" >/dev/null 2>"$DIR/curl.err"; then exit 0; fi
    sleep 0.2
done
echo "floor: the VIP never answered: $(cat "$DIR/curl.err")" >&2
in_image loadb1 ipvsadm -L -n >&2
tail -n 5 "$DIR"/*.log >&2
exit 1
