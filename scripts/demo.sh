#!/usr/bin/env bash
# The main job. Today it walks through the package workflow with updatehub-pkg: a signing key,
# a small system image (a raw root file system and a tarball of application files, one target
# per A/B slot), a signed package, its verification, its contents and a tampered copy refused.
# The management server and simulated devices join this script as they land.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target updatehub-pkg

pkg=build/release/src/tools/pkg/updatehub-pkg
work=${DEMO_DIR:-demo-data}
rm -rf "$work"
mkdir -p "$work/image/app"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Signing key"
"$pkg" keygen --out "$work/keys" --bits 3072

step "System image v2.0: root file system (compressed) and application files"
product=$(printf 'demo-product' | sha256sum | cut -d' ' -f1)
head -c 8M /dev/urandom > "$work/image/rootfs.img"
gzip -k -f "$work/image/rootfs.img"
echo "hello from version 2.0" > "$work/image/app/motd"
tar -C "$work/image" -czf "$work/image/app.tar.gz" app
ls -l "$work/image"

step "Package: one raw object and one tarball, a target per A/B slot"
"$pkg" create --product "$product" --version 2.0 --hardware demo-board \
  --object "$work/image/rootfs.img.gz,mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3" \
  --object "$work/image/app.tar.gz,mode=tarball,filesystem=ext4,target=/dev/mmcblk0p5,b.target=/dev/mmcblk0p6,target-path=/app" \
  --key "$work/keys/key.pem" -o "$work/demo-2.0.uhupkg"

step "Verify with the public key a device holds"
"$pkg" verify "$work/demo-2.0.uhupkg" --key "$work/keys/key.pub"

step "Inspect"
"$pkg" inspect "$work/demo-2.0.uhupkg"

step "A tampered copy is refused"
cp "$work/demo-2.0.uhupkg" "$work/tampered.uhupkg"
printf 'X' | dd of="$work/tampered.uhupkg" bs=1 seek=5000 conv=notrunc status=none
if "$pkg" verify "$work/tampered.uhupkg" --key "$work/keys/key.pub"; then
  echo "error: the tampered package verified" >&2
  exit 1
fi
echo "(refused, as it should be)"

step "Done: files are in $work/"
