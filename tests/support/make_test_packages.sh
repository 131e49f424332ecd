#!/usr/bin/env bash
# Makes the test packages with this build's updatehub-pkg (see TestPackagesDir() in
# test_support.hpp for what each holds). Their objects are the same bytes on every run (a fixed
# AES-CTR keystream, a tar with fixed times and owners, gzip without a name or time); only the key
# pair is new each time, so package UIDs do not change between builds but signatures do.
# Usage: make_test_packages.sh PKG_TOOL OUT_DIR
set -euo pipefail
export LC_ALL=C

pkg=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

product=da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914

# SIZE bytes that look random and are the same on every run, different for each SEED.
bytes() {
  local size=$1 seed=$2
  head -c "$size" /dev/zero |
    openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$seed")" -iv 0 2>/dev/null
}

cd "$work"
bytes 1048576 1 >rootfs.img

mkdir -p tree/etc tree/usr/bin
printf 'hello from the test package\n' >tree/etc/motd
printf '#!/bin/sh\necho app\n' >tree/usr/bin/app
chmod 0755 tree tree/etc tree/usr tree/usr/bin tree/usr/bin/app
chmod 0644 tree/etc/motd
tar --sort=name --mtime=@1600000000 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C tree -cf - . | gzip -9n >data.tar.gz

bytes 65536 2 | xz -6 --check=crc64 >boot.img.xz
bytes 300000 3 | gzip -9n >kernel.img.gz

mkdir keys
"$pkg" keygen --out keys --bits 2048 >/dev/null

"$pkg" create --product "$product" --version 1.0.0 --hardware board-a --hardware board-b \
  --object data.tar.gz,mode=tarball,filesystem=ext4,target=/dev/mmcblk0p3,target-path=/data \
  --object rootfs.img,mode=raw,target=/dev/mmcblk0p2 \
  --key keys/key.pem -o signed.uhupkg >/dev/null
"$pkg" create --product "$product" --version 1.0.0 --hardware board-a --hardware board-b \
  --object data.tar.gz,mode=tarball,filesystem=ext4,target=/dev/mmcblk0p3,target-path=/data \
  --object rootfs.img,mode=raw,target=/dev/mmcblk0p2 \
  --unsigned -o unsigned.uhupkg >/dev/null
"$pkg" create --product "$product" --version 2.0.0-rc1 \
  --object boot.img.xz,mode=raw,target=/dev/mmcblk0p1,install-if-different=sha256sum,truncate=true \
  --object kernel.img.gz,mode=raw,target=/dev/mmcblk0p5,b.target=/dev/mmcblk0p6,chunk-size=4096,seek=2 \
  --key keys/key.pem -o compressed.uhupkg >/dev/null

for name in signed compressed; do
  "$pkg" extract "$name.uhupkg" --to "extract-$name" >/dev/null
  cp "extract-$name/metadata" "$name.metadata.json"
done

# Into place together: a half-made directory is never taken for a whole one.
mkdir -p "$(dirname "$out")"
staged=$(mktemp -d "$(dirname "$out")/.test-packages.XXXXXX")
cp keys/key.pem keys/key.pub signed.uhupkg unsigned.uhupkg compressed.uhupkg \
  signed.metadata.json compressed.metadata.json "$staged/"
chmod 0755 "$staged"
rm -rf "$out"
mv "$staged" "$out"
