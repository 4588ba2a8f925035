#!/bin/bash
# Chapter 1: Enable IPVS On The Load Balancers.  Runs on: loadb1, loadb2.
. "$(dirname "$0")/common.sh"
MODULES=(ip_vs_dh ip_vs_ftp ip_vs ip_vs_lblc ip_vs_lblcr ip_vs_lc ip_vs_nq ip_vs_rr ip_vs_sed ip_vs_sh ip_vs_wlc ip_vs_wrr)
for module in "${MODULES[@]}"; do
    ensure_line /etc/modules "$module"
done
# One modprobe for the twelve the tutorial loads one by one (same modules, fewer forks).
modprobe -a "${MODULES[@]}"
say "IPVS: $(head -1 /proc/net/ip_vs)"
