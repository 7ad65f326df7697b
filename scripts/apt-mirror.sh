# Sourced by the test scripts. apt_mirror prints the first Debian (not
# security) mirror in the machine's apt sources, deb822 files first, then
# the one-line format; fails when there is none.
apt_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
        /^URIs:/ { uris = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) ok = 1 }
        /^[[:space:]]*$/ { if (ok && uris != "") { print uris; exit } ok = 0; uris = "" }
        END { if (ok && uris != "") print uris }' | head -n1)
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' | head -n1)
    fi
    [ -n "$uri" ] || { echo "no Debian mirror in /etc/apt/sources.list{,.d/}" >&2; return 1; }
    echo "$uri"
}
