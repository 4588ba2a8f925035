#!/bin/bash
# Before the tutorial: each node's address on the LAN, as a Debian installation would have it
# (/etc/network/interfaces), and the nodes' names in /etc/hosts. Runs on: every Vagrant VM
# (the netns provider wires its namespaces directly). Reads LAB_IFACE, LAB_PREFIXLEN,
# LAB_BROADCAST, LAB_ADDRESSES (this node's; the first is its own, the rest aliases, e.g. the
# client's extra source addresses), LAB_HOSTS (lines for /etc/hosts) and LAB_HOSTNAME.
set -euo pipefail
# The node's name (heartbeat's `node` lines must match `uname -n`). Set here, not by Vagrant's
# hostname step, which restarts the management network's DHCP client.
if [[ "$(uname -n)" != "$LAB_HOSTNAME" ]]; then
    echo "$LAB_HOSTNAME" > /etc/hostname
    hostname "$LAB_HOSTNAME"
fi
read -r -a ADDRESSES <<< "$LAB_ADDRESSES"
mkdir -p /etc/network/interfaces.d
grep -qx 'source /etc/network/interfaces.d/\*' /etc/network/interfaces 2>/dev/null \
    || echo 'source /etc/network/interfaces.d/*' >> /etc/network/interfaces
{
    echo "auto $LAB_IFACE"
    echo "iface $LAB_IFACE inet static"
    echo "    address ${ADDRESSES[0]}/$LAB_PREFIXLEN"
    echo "    broadcast $LAB_BROADCAST"
    for alias in "${ADDRESSES[@]:1}"; do
        echo "    up ip addr add $alias/$LAB_PREFIXLEN broadcast $LAB_BROADCAST dev $LAB_IFACE"
    done
} > "/etc/network/interfaces.d/lvslab-$LAB_IFACE"
ip addr show dev "$LAB_IFACE" | grep -q "inet ${ADDRESSES[0]}/" || ifup "$LAB_IFACE"
printf "127.0.0.1\tlocalhost\n%s\n" "$LAB_HOSTS" > /etc/hosts
echo "[$(uname -n)] $LAB_IFACE: ${ADDRESSES[*]}"
