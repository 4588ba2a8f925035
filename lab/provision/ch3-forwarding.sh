#!/bin/bash
# Chapter 3: Enable Packet Forwarding On The Load Balancers.  Runs on: loadb1, loadb2.
. "$(dirname "$0")/common.sh"
ensure_line /etc/sysctl.conf "# Enables packet forwarding"
ensure_line /etc/sysctl.conf "net.ipv4.ip_forward = 1"
sysctl -p
