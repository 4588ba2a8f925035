# Sourced by the chapter 4 scripts of the stacks that run ldirectord and LVSSyncDaemonSwap
# (heartbeat, the tutorial's; pacemaker): ldirectord.cf as documented, the swap script, and
# telling a running ldirectord that its file changed.
ldirectord_cf_before=$(cat /etc/ha.d/ldirectord.cf 2>/dev/null || true)

# Beyond the tutorial (scenario families set these; unset, the file is exactly as documented):
# LAB_WEIGHTS "3 1" one weight per real server, LAB_FORWARDING masq|ipip, LAB_TLS_PORT 443
# for a second virtual service balancing HTTPS at layer 4.
ldirectord_virtual() {  # ldirectord_virtual PORT SERVICE FALLBACK
    local port=$1 service=$2 fallback=$3 real i=0 weights
    read -r -a weights <<< "${LAB_WEIGHTS:-}"
    printf '\nvirtual=%s:%s\n' "$LAB_VIP" "$port"
    for real in $LAB_REALSERVERS; do
        printf '        real=%s:%s %s%s\n' "$real" "$port" "$LAB_FORWARDING" "${weights[i]:+ ${weights[i]}}"
        i=$((i + 1))
    done
    [[ -n $fallback ]] && printf '        fallback=%s %s\n' "$fallback" "$LAB_FORWARDING"
    cat <<CONF
        service=$service
        request="$LAB_REQUEST"
        receive="$LAB_RECEIVE"
        scheduler=$LAB_SCHEDULER
CONF
    [[ -n ${LAB_PERSISTENT:-} ]] && printf '        persistent=%s\n' "$LAB_PERSISTENT"
    cat <<CONF
        protocol=$LAB_PROTOCOL
        checktype=negotiate
CONF
}

write_ldirectord_cf() {
    {
        cat <<CONF
checktimeout=$LAB_CHECKTIMEOUT
checkinterval=$LAB_CHECKINTERVAL
autoreload=no
logfile="local0"
quiescent=yes
CONF
        ldirectord_virtual "$LAB_PORT" http "$LAB_FALLBACK"
        [[ -n ${LAB_TLS_PORT:-} ]] && ldirectord_virtual "$LAB_TLS_PORT" https ""
        true
    } | write_file /etc/ha.d/ldirectord.cf 0644
}

# LVSSyncDaemonSwap is in no bookworm package: the lab supplies it (lab/provision/LVSSyncDaemonSwap).
install_sync_swap() {
    install -m 0755 "$(dirname "$0")/LVSSyncDaemonSwap" /etc/ha.d/resource.d/LVSSyncDaemonSwap
    write_file /etc/default/LVSSyncDaemonSwap 0644 <<CONF
# the LAN the sync daemons multicast on (lab/cluster.json)
LVS_SYNC_INTERFACE=$LAB_IFACE
CONF
}

# Provisioning again with other settings (scheduler=, persistent=, ...): the running ldirectord
# (autoreload=no) must be told. Only the active balancer runs one. `ldirectord ldirectord.cf
# reload` is "the same as sending a HUP signal" (ldirectord(8)): sent directly, it saves two perl
# start-ups (status, reload) of about 3 s each under TCG.
reload_ldirectord() {
    local pid
    pid=$(cat /run/ldirectord.ldirectord.cf.pid 2>/dev/null || true)
    if [[ "$(</etc/ha.d/ldirectord.cf)" != "$ldirectord_cf_before" && -n $pid ]] && grep -qa ldirectord "/proc/$pid/cmdline" 2>/dev/null; then
        kill -HUP "$pid"
        say "ldirectord reloaded (HUP to $pid)"
    fi
}
