#!/bin/bash
# For the TLS scenarios: Apache also serves HTTPS, with a certificate made here, on this node
# (its subject names the node, so a handshake through the VIP shows which server made it).
# The tutorial's commenter asks whether SSL sessions can be balanced; the answer is tested.
# Runs on: webserver1, webserver2.
. "$(dirname "$0")/common.sh"
ensure_packages apache2 ssl-cert openssl
cert=/etc/ssl/certs/ssl-cert-snakeoil.pem
# The image's snake-oil certificate was made at image build time for the build host:
# each node makes its own, for its own name.
if ! openssl x509 -in "$cert" -noout -subject 2>/dev/null | grep -q "CN = $(uname -n)"; then
    make-ssl-cert generate-default-snakeoil --force-overwrite
    say "made a certificate for $(uname -n)"
fi
changed=
[[ -e /etc/apache2/mods-enabled/ssl.load ]] || { a2enmod -q ssl; changed=1; }
[[ -e /etc/apache2/sites-enabled/default-ssl.conf ]] || { a2ensite -q default-ssl; changed=1; }
# the health-check page and the site are the same document root as on port 80
if [[ -n $changed ]] || ! /etc/init.d/apache2 status >/dev/null 2>&1; then
    /etc/init.d/apache2 restart
fi
for _ in $(seq 50); do
    curl -skf -o /dev/null "https://127.0.0.1/$LAB_REQUEST" && exit 0
    sleep 0.2
done
say "HTTPS does not answer"; exit 1
