#!/bin/bash
# For the persistence scenarios: a page with a server-side session, so a broken session shows.
# /cgi-bin/session keeps each session in a file on the web node that created it; a cookie
# names it. A request that reaches the other web node finds no such session and starts anew.
# Runs on: webserver1, webserver2.
. "$(dirname "$0")/common.sh"
ensure_packages apache2
install -d -o www-data -g www-data -m 0750 /var/lib/lab-sessions
write_file /usr/lib/cgi-bin/session 0755 <<'CGI'
#!/bin/sh
# Output: server=NAME session=ID count=N new=yes|no   (and Set-Cookie: LABSESSION=ID)
dir=/var/lib/lab-sessions
read -r host < /etc/hostname
sid=
case "$HTTP_COOKIE" in *LABSESSION=*) sid=${HTTP_COOKIE#*LABSESSION=}; sid=${sid%%;*} ;; esac
case "$sid" in *[!0-9a-f]*) sid= ;; esac
if [ -n "$sid" ] && [ -f "$dir/$sid" ]; then
    read -r count < "$dir/$sid"; count=$((count + 1)); new=no
else
    sid=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n'); count=1; new=yes
fi
echo "$count" > "$dir/$sid"
printf 'Content-Type: text/plain\r\nSet-Cookie: LABSESSION=%s; Path=/\r\n\r\n' "$sid"
echo "server=$host session=$sid count=$count new=$new"
CGI
# A large file for slow downloads held open across a failover (sync scenarios).
[[ -f /var/www/html/big.bin ]] || head -c 8M /dev/zero > /var/www/html/big.bin
if [[ ! -e /etc/apache2/mods-enabled/cgid.load ]]; then
    a2enmod -q cgid
    /etc/init.d/apache2 restart   # mod_cgid's daemon starts with a full start, not a graceful reload
fi
for _ in $(seq 50); do
    curl -sf -o /dev/null http://127.0.0.1/cgi-bin/session && exit 0
    sleep 0.2
done
say "the session page does not answer"; exit 1
