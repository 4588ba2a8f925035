#!/bin/bash
# Chapter 4 on keepalived (--lab-stack=keepalived): what the tutorial says with heartbeat
# (ha.cf, haresources, authkeys) and ldirectord (ldirectord.cf), said in keepalived.conf.
# Runs on: loadb1, loadb2 (the same file but for the priority).
#   haresources' VIP (IPaddr2)    -> vrrp_instance's virtual_ipaddress
#   auto_failback off             -> state BACKUP on both, nopreempt
#   loadb1 first in haresources   -> the higher priority
#   LVSSyncDaemonSwap             -> lvs_sync_daemon: master on the VRRP master, backup on the other
#   ldirectord's negotiate check  -> HTTP_GET of the request page, its status and the receive text
#   quiescent=yes                 -> inhibit_on_failure (weight 0, not removed)
#   fallback=127.0.0.1:80         -> sorry_server
#   persistent=                   -> persistence_timeout
. "$(dirname "$0")/common.sh"
me=$(uname -n)
priority=$LAB_KA_PEER_PRIORITY
[[ $me == "$LAB_PREFERRED" ]] && priority=$LAB_KA_PRIORITY
read -r -a WEIGHTS <<< "${LAB_WEIGHTS:-}"
case "$LAB_FORWARDING" in gate) kind=DR ;; masq) kind=NAT ;; ipip) kind=TUN ;;
    *) echo "ch4-keepalived.sh: unknown LAB_FORWARDING=$LAB_FORWARDING" >&2; exit 2 ;; esac

virtual_server() {  # virtual_server PORT CHECK FALLBACK
    local port=$1 check=$2 fallback=$3 real i=0
    cat <<CONF

virtual_server $LAB_VIP $port {
    delay_loop $LAB_CHECKINTERVAL
    lb_algo $LAB_SCHEDULER
    lb_kind $kind
    protocol ${LAB_PROTOCOL^^}
CONF
    [[ -n ${LAB_PERSISTENT:-} ]] && printf '    persistence_timeout %s\n' "$LAB_PERSISTENT"
    [[ -n $fallback ]] && printf '    sorry_server %s %s\n' "${fallback%:*}" "${fallback##*:}"
    for real in $LAB_REALSERVERS; do
        cat <<CONF
    real_server $real $port {
        weight ${WEIGHTS[i]:-1}
        inhibit_on_failure
        $check {
            url {
                path /$LAB_REQUEST
                status_code 200
                regex "$LAB_RECEIVE"
            }
            connect_timeout $LAB_CHECKTIMEOUT
        }
    }
CONF
        i=$((i + 1))
    done
    echo "}"
}

before=$(cat /etc/keepalived/keepalived.conf 2>/dev/null || true)
mkdir -p /etc/keepalived
{
    cat <<CONF
# written by lvs-ha-lab (lab/provision/ch4-keepalived.sh) from lab/cluster.json
global_defs {
    router_id $me
    lvs_sync_daemon $LAB_IFACE VI_LVS id 0
}

vrrp_instance VI_LVS {
    state BACKUP
CONF
    [[ -n ${LAB_KA_NOPREEMPT:-} ]] && echo "    nopreempt"
    cat <<CONF
    interface $LAB_IFACE
    virtual_router_id $LAB_KA_VRID
    priority $priority
    advert_int ${LAB_KA_ADVERT_INT:-1}
    authentication {
        auth_type PASS
        auth_pass ${LAB_AUTHKEY:0:8}
    }
    virtual_ipaddress {
        $LAB_VIP/$LAB_PREFIXLEN brd $LAB_BROADCAST dev $LAB_IFACE
    }
}
CONF
    virtual_server "$LAB_PORT" HTTP_GET "$LAB_FALLBACK"
    [[ -n ${LAB_TLS_PORT:-} ]] && virtual_server "$LAB_TLS_PORT" SSL_GET ""
    true
} | write_file /etc/keepalived/keepalived.conf 0644
keepalived --config-test -f /etc/keepalived/keepalived.conf

# Started by provisioning (the rc links start it after a reboot, as heartbeat's do).
if ! compgen -G "/etc/rc2.d/S*keepalived" >/dev/null; then
    update-rc.d keepalived defaults 2>&1 || true
fi
if [[ -d /run/systemd/system ]]; then
    systemctl is-enabled -q keepalived.service 2>/dev/null || systemctl enable -q keepalived.service
fi

if pid=$(cat /run/keepalived.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
    say "keepalived already running"
    if [[ "$(</etc/keepalived/keepalived.conf)" != "$before" ]]; then
        kill -HUP "$pid"
        say "keepalived reloaded (HUP to $pid)"
    fi
else
    /etc/init.d/keepalived start
fi
