#!/bin/sh
# init.sh — /init of the squib test guest (busybox sh, runs as PID 1 in the initramfs).
#
# Contract: reads `squib.tasks=T1,T2,…` from /proc/cmdline and runs the tasks in order.
# Every task is bounded in time, so the guest always ends. Results are printed on the
# console (ttyS0) as lines starting with "SQUIB-GUEST " (ending in "\n", no "\r"):
#
#   SQUIB-GUEST BOOT tasks=<tasks>            init started
#   SQUIB-GUEST UP mac=<mac>                  eth0 present and up (else: ERROR no-eth0)
#   task dhcp            udhcpc -n -t 5 -T 2 (~10 s max), configures eth0, route, resolv.conf:
#     SQUIB-GUEST LEASE ip=<a.b.c.d> prefix=<n> router=<gw|none> dns=<d1,d2|none> mtu=<n|none> server=<id|none>
#     SQUIB-GUEST LEASE fail
#   task static:IP/PREFIX[:GW]                static address (+ default route via GW):
#     SQUIB-GUEST STATIC ip=<ip> prefix=<n> router=<gw|none>   | SQUIB-GUEST STATIC fail
#   task mtu:N                                SQUIB-GUEST MTU ok mtu=<n> | SQUIB-GUEST MTU fail
#   task wget:URL        (timeout 15 s; URL must not contain ',')
#     SQUIB-GUEST WGET ok bytes=<n> url=<url>   then   SQUIB-GUEST WGET-BODY <first line, ≤200 chars>
#     SQUIB-GUEST WGET fail url=<url>
#   task ping:HOST       (ping -c 3, deadline 8 s)   SQUIB-GUEST PING ok|fail host=<host>
#   task slaac           waits (≤15 s) for a global IPv6 address on eth0 that finished DAD:
#     SQUIB-GUEST SLAAC ip=<addr> prefix=<n> router6=<gw|none>  | SQUIB-GUEST SLAAC fail
#   task ping6:HOST      (ping6 -c 3, deadline 8 s)  SQUIB-GUEST PING6 ok|fail host=<host>
#   task serve:PORT      busybox httpd on PORT serving "hello-from-guest\n" at / and /index.html:
#     SQUIB-GUEST SERVE port=<port>            | SQUIB-GUEST SERVE fail port=<port>
#   task resolve:NAME    nslookup NAME at the first nameserver udhcpc wrote (timeout 10 s):
#                        SQUIB-GUEST RESOLVE ok name=<name> address=<first IPv4> server=<dns>
#                        | SQUIB-GUEST RESOLVE fail name=<name> server=<dns|none>
#   task sleep:N                               sleeps N seconds, prints SQUIB-GUEST SLEEP done n=<N>
#   unknown task                               SQUIB-GUEST ERROR unknown-task=<task>
#   SQUIB-GUEST DONE failed=<count of failed tasks>
# Then `poweroff -f` (QEMU exits), unless the last task is serve: the guest then stays up
# until the host kills QEMU. No set -e/-u here: PID 1 exiting would panic the kernel.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "1 4 1 7" > /proc/sys/kernel/printk   # keep kernel chatter off our lines
stty -onlcr 2>/dev/null                     # "\n", not "\r\n", in the serial log
hostname squib-guest
set -f                                      # task strings are never globbed

say() { echo "SQUIB-GUEST $*"; }
echo    # the firmware leaves terminal escapes on the current line: start a fresh one

tasks=
read -r cmdline < /proc/cmdline
# shellcheck disable=SC2086  # split into words on purpose (globbing is off)
for arg in $cmdline; do
    case "$arg" in squib.tasks=*) tasks=${arg#squib.tasks=} ;; esac
done
say "BOOT tasks=$tasks"

# virtio-net drivers, in dependency order (see make-initramfs.sh).
while read -r mod; do
    [ -n "$mod" ] && { insmod "/lib/modules/$mod" || say "ERROR insmod $mod"; }
done < /lib/modules/load-order

ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    say "UP mac=$(cat /sys/class/net/eth0/address)"
else
    say "ERROR no-eth0"
fi

# udhcpc event script: configure eth0 from the lease and print it.
cat > /etc/udhcpc.script <<'EOS'
#!/bin/sh
case "$1" in
deconfig)
    ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
    pfx=${mask:-}
    [ -n "$pfx" ] || pfx=$(ipcalc -p "$ip" "$subnet" | sed 's/^PREFIX=//')
    ip addr flush dev "$interface"
    ip addr add "$ip/$pfx" dev "$interface"
    [ -n "${mtu:-}" ] && ip link set "$interface" mtu "$mtu"
    gw=${router%% *}
    if [ -n "$gw" ]; then
        ip route replace default via "$gw" dev "$interface" 2>/dev/null || {
            ip route replace "$gw" dev "$interface"
            ip route replace default via "$gw" dev "$interface"; }
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    dnsl=$(echo $dns | tr ' ' ',')
    echo "SQUIB-GUEST LEASE ip=$ip prefix=$pfx router=${gw:-none} dns=${dnsl:-none} mtu=${mtu:-none} server=${serverid:-none}" > /dev/console
    ;;
esac
exit 0
EOS
chmod 0755 /etc/udhcpc.script

failed=0
fail() { say "$@"; failed=$((failed + 1)); }

task_dhcp() {
    udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/dev/null 2>&1 \
        || fail "LEASE fail"
}

task_static() {  # IP/PREFIX[:GW]
    addr=${1%%:*}; gw=
    case "$1" in *:*) gw=${1#*:} ;; esac
    if ip addr flush dev eth0 && ip addr add "$addr" dev eth0 \
        && { [ -z "$gw" ] || ip route replace default via "$gw" dev eth0; }; then
        say "STATIC ip=${addr%/*} prefix=${addr#*/} router=${gw:-none}"
    else
        fail "STATIC fail"
    fi
}

task_mtu() {
    if ip link set eth0 mtu "$1"; then say "MTU ok mtu=$1"; else fail "MTU fail"; fi
}

task_wget() {  # busybox 1.35 `wget -T` segfaults: bound it with timeout instead
    rm -f /tmp/wget.out
    if timeout 15 wget -q -O /tmp/wget.out "$1" 2>/dev/null; then
        say "WGET ok bytes=$(wc -c < /tmp/wget.out) url=$1"
        say "WGET-BODY $(head -n 1 /tmp/wget.out | cut -c 1-200)"
    else
        fail "WGET fail url=$1"
    fi
}

task_ping() {
    if timeout 10 ping -c 3 -w 8 "$1" >/dev/null 2>&1; then
        say "PING ok host=$1"
    else
        fail "PING fail host=$1"
    fi
}

task_slaac() {  # the kernel's own SLAAC (accept_ra=1, autoconf=1 by default): only wait
    n=0
    while [ $n -lt 150 ]; do
        line=$(ip -6 addr show dev eth0 scope global 2>/dev/null | grep 'inet6 ' | grep -v tentative | head -n 1)
        if [ -n "$line" ]; then
            cidr=$(echo "$line" | awk '{print $2}')
            gw6=$(ip -6 route show default 2>/dev/null | awk '/^default via/ {print $3; exit}')
            say "SLAAC ip=${cidr%/*} prefix=${cidr#*/} router6=${gw6:-none}"
            return
        fi
        sleep 0.1; n=$((n + 1))
    done
    fail "SLAAC fail"
}

task_ping6() {
    if timeout 10 ping6 -c 3 -w 8 "$1" >/dev/null 2>&1; then
        say "PING6 ok host=$1"
    else
        fail "PING6 fail host=$1"
    fi
}

task_serve() {
    mkdir -p /www && echo hello-from-guest > /www/index.html
    httpd -f -p "$1" -h /www &
    n=0
    while [ $n -lt 30 ]; do
        netstat -ltn 2>/dev/null | grep -q ":$1 " && { say "SERVE port=$1"; return; }
        sleep 0.1; n=$((n + 1))
    done
    fail "SERVE fail port=$1"
}

task_resolve() {  # NAME, at the DNS server DHCP gave (resolv.conf)
    server=$(sed -n 's/^nameserver //p' /etc/resolv.conf 2>/dev/null | head -n 1)
    # busybox nslookup: the server's own "Address: IP:53" comes before "Name:"; the answers after it.
    addr=$(timeout 10 nslookup "$1" ${server:+"$server"} 2>/dev/null |
        sed -n '/^Name:/,$s/^Address:[[:space:]]*\([0-9.]*\)$/\1/p' | head -n 1)
    if [ -n "$addr" ]; then
        say "RESOLVE ok name=$1 address=$addr server=${server:-none}"
    else
        fail "RESOLVE fail name=$1 server=${server:-none}"
    fi
}

task_sleep() { sleep "$1"; say "SLEEP done n=$1"; }

IFS=,
# shellcheck disable=SC2086  # split on ',' on purpose (globbing is off)
set -- $tasks
unset IFS
last=
for t in "$@"; do
    last=$t
    case "$t" in
        dhcp)      task_dhcp ;;
        static:*)  task_static "${t#static:}" ;;
        mtu:*)     task_mtu "${t#mtu:}" ;;
        wget:*)    task_wget "${t#wget:}" ;;
        ping:*)    task_ping "${t#ping:}" ;;
        slaac)     task_slaac ;;
        ping6:*)   task_ping6 "${t#ping6:}" ;;
        serve:*)   task_serve "${t#serve:}" ;;
        sleep:*)   task_sleep "${t#sleep:}" ;;
        resolve:*) task_resolve "${t#resolve:}" ;;
        "")        ;;
        *)         fail "ERROR unknown-task=$t" ;;
    esac
done
say "DONE failed=$failed"
case "$last" in
    serve:*) while :; do sleep 3600; done ;;
esac
sync
poweroff -f
