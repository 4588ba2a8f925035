#!/bin/bash
# Chapter 6: Configure The Two Apache Nodes.  Runs on: webserver1, webserver2.
. "$(dirname "$0")/common.sh"
ensure_packages iproute2   # the tutorial's "apt-get install iproute" (renamed iproute2)

for line in \
    "net.ipv4.conf.all.arp_ignore = 1" \
    "net.ipv4.conf.$LAB_IFACE.arp_ignore = 1" \
    "net.ipv4.conf.all.arp_announce = 2" \
    "net.ipv4.conf.$LAB_IFACE.arp_announce = 2"; do
    ensure_line /etc/sysctl.conf "$line"
done
sysctl -p

if ! grep -qx "auto lo:0" /etc/network/interfaces; then
    cat >> /etc/network/interfaces <<CONF

auto lo:0
iface lo:0 inet static
  address $LAB_VIP
  netmask 255.255.255.255
  pre-up sysctl -p > /dev/null
CONF
    say "added lo:0 to /etc/network/interfaces"
fi
ifup lo:0

# The page ldirectord requests (bookworm's document root is /var/www/html).
write_file "/var/www/html/$LAB_REQUEST" 0644 <<< "$LAB_RECEIVE"
