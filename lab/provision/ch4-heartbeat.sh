#!/bin/bash
# Chapter 4: Configure heartbeat And ldirectord.  Runs on: loadb1, loadb2 (identical files).
. "$(dirname "$0")/common.sh"
read -r -a BALANCERS <<< "$LAB_BALANCERS"

# /etc/ha.d/ha.cf as documented; ipfail moved to /usr/libexec/heartbeat on bookworm.
{
    cat <<CONF
logfacility        local0
bcast        $LAB_IFACE                # Linux
mcast $LAB_IFACE $LAB_MCAST_GROUP $LAB_UDPPORT 1 0
auto_failback $LAB_AUTO_FAILBACK
CONF
    for node in "${BALANCERS[@]}"; do printf 'node        %s\n' "$node"; done
    cat <<CONF
respawn hacluster /usr/libexec/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster
# --- lvs-ha-lab additions (docs/bookworm-differences.md) ---
logfile /var/log/ha-log
CONF
    # The tutorial leaves heartbeat's timing at its defaults; the lab states it (cluster.json).
    for key in keepalive warntime deadtime initdead; do
        var="LAB_HB_${key^^}"
        if [[ -n ${!var:-} ]]; then printf '%s %s\n' "$key" "${!var}"; fi
    done
} | write_file /etc/ha.d/ha.cf 0644

write_file /etc/ha.d/haresources 0644 <<CONF
$LAB_PREFERRED        \\
        ldirectord::ldirectord.cf \\
        LVSSyncDaemonSwap::master \\
        IPaddr2::$LAB_VIP/$LAB_PREFIXLEN/$LAB_IFACE/$LAB_BROADCAST
CONF

write_file /etc/ha.d/authkeys 0600 <<CONF
auth 3
3 md5 $LAB_AUTHKEY
CONF
chmod 600 /etc/ha.d/authkeys

. "$(dirname "$0")/ldirectord.sh"
write_ldirectord_cf
install_sync_swap

# Startup links: heartbeat on, ldirectord off (heartbeat starts it). Bookworm's update-rc.d
# ignores the explicit start/stop runlevels and uses the script's LSB header instead.
# Run again (another scheduler, persistent=, ...) it skips them when the links are already right
# (update-rc.d is a perl start-up each time).
if ! compgen -G "/etc/rc2.d/S*heartbeat" >/dev/null; then
    update-rc.d heartbeat start 75 2 3 4 5 . stop 05 0 1 6 . 2>&1 || true
fi
if compgen -G "/etc/rc[0-6S].d/[SK]*ldirectord" >/dev/null; then
    update-rc.d -f ldirectord remove
fi
# On a node booted by systemd (a Vagrant VM) the units decide, not the rc links: the same
# intent said to systemd (Debian's ldirectord.service would otherwise start at boot, beside
# the ldirectord heartbeat starts).
if [[ -d /run/systemd/system ]]; then
    systemctl is-enabled -q heartbeat.service 2>/dev/null || systemctl enable -q heartbeat.service
    if systemctl is-enabled -q ldirectord.service 2>/dev/null; then systemctl disable -q ldirectord.service; fi
fi

if /etc/init.d/heartbeat status >/dev/null 2>&1; then
    say "heartbeat already running"
    reload_ldirectord
else
    /etc/init.d/ldirectord stop || true
    /etc/init.d/heartbeat start
fi
