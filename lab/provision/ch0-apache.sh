#!/bin/bash
# Before the tutorial: "I assume that you have installed a basic Debian installation on all
# four nodes, and that you have installed Apache on webserver1 and webserver2".
# Runs on: webserver1, webserver2.
. "$(dirname "$0")/common.sh"
ensure_packages apache2
only_startup_links apache2
# On a node booted by systemd (a Vagrant VM, whose box ships apache2.service disabled) the unit
# decides, not the rc links: enabled, as on the tutorial's machine, so a rebooted web node serves.
if [[ -d /run/systemd/system ]]; then
    systemctl is-enabled -q apache2.service 2>/dev/null || systemctl enable -q apache2.service
fi
# The main web site. Bookworm's document root is /var/www/html (the tutorial's was /var/www).
write_file /var/www/html/index.html 0644 <<HTML
<html><body><h1>$(uname -n)</h1><p>served by $(uname -n)</p></body></html>
HTML
if [[ -f /run/apache2/apache2.pid ]] && kill -0 "$(</run/apache2/apache2.pid)" 2>/dev/null; then
    say "apache2 already running"
else
    /etc/init.d/apache2 start
fi
