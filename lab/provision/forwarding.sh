#!/bin/bash
# For the forwarding scenarios: what each of LVS's forwarding methods needs beyond ldirectord.cf.
# LAB_FORWARDING=gate (the tutorial's direct routing), masq (NAT) or ipip (tunnelling).
# Runs on: webserver1, webserver2, loadb1, loadb2.
. "$(dirname "$0")/common.sh"
method=${LAB_FORWARDING:?}
case "$method" in gate|masq|ipip) ;; *) say "unknown forwarding method $method"; exit 2 ;; esac
read -r -a CLIENTS <<< "${LAB_CLIENTS:-}"

if [[ " $LAB_BALANCERS " == *" $(uname -n) "* ]]; then
    # NAT: replies come back through the director and leave by the interface they came in on;
    # it must not send the real servers ICMP redirects ("go to the client directly").
    redirects=$([[ $method == masq ]] && echo 0 || echo 1)
    sysctl -q -w "net.ipv4.conf.all.send_redirects=$redirects" "net.ipv4.conf.$LAB_IFACE.send_redirects=$redirects"
    say "send_redirects=$redirects"
    exit 0
fi

# A real server.
if [[ $method == masq ]]; then
    # NAT: the real server answers from its own address, to the client, through the director:
    # a host route to each client via the VIP (the active balancer's). The VIP must then not be
    # local here, so lo:0 goes down.
    ifdown lo:0 2>/dev/null || true
    for client in "${CLIENTS[@]}"; do ip route replace "$client/32" via "$LAB_VIP" dev "$LAB_IFACE"; done
    say "replies to ${#CLIENTS[@]} client addresses go via $LAB_VIP"
else
    for client in "${CLIENTS[@]}"; do ip route del "$client/32" via "$LAB_VIP" 2>/dev/null || true; done
    ip addr show lo | grep -q " $LAB_VIP/" || ifup lo:0
fi
if [[ $method == ipip ]]; then
    # Tunnelling: the director wraps each packet for the VIP in IPIP to this server's address;
    # tunl0 unwraps it, the VIP (on lo:0) accepts it, and the reply goes straight to the client.
    modprobe ipip
    ip link set tunl0 up
    sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=0
    say "tunl0 up"
elif ip link show tunl0 >/dev/null 2>&1; then
    ip link set tunl0 down
fi
