#!/usr/bin/env bash
# check_needed.sh UPDATEHUB UPDATEHUB_WORKER: the daemon program's dynamic dependencies name none
# of libcurl, OpenSSL, libarchive and their own dependencies, while the worker's do name libcurl
# and libcrypto (so that the check looks at the right thing).
set -euo pipefail
needed() { readelf -d "$1" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }'; }
daemon=$(needed "$1")
worker=$(needed "$2")
heavy='^lib(curl|ssl|crypto|archive|nettle|lzma|zstd|lz4|bz2|z|xml2|acl|gnutls|idn2|ssh|ldap)[.-]'
if bad=$(grep -E "$heavy" <<<"$daemon"); then
  echo "updatehub links what updatehub-worker is for: $bad" >&2
  exit 1
fi
for lib in libcurl libcrypto; do
  grep -q "^$lib" <<<"$worker" || { echo "updatehub-worker does not link $lib?" >&2; exit 1; }
done
echo "updatehub needs: $(tr '\n' ' ' <<<"$daemon")"
