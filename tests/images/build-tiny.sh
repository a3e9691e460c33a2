#!/usr/bin/env bash
# tests/images/build-tiny.sh — builds the tiny test guest from Debian packages only: the cloud
# kernel (linux-image-*-cloud-amd64, extracted with dpkg-deb, never installed) and a
# busybox-static initramfs whose /init loads the virtio modules, prints marker lines on the
# serial console, reads an OpenStack config drive, runs DHCP on every NIC and powers off on ACPI.
#
# Usage: tests/images/build-tiny.sh OUTDIR
# Writes OUTDIR/tiny-vmlinuz, OUTDIR/tiny-initrd (gzip newc cpio), OUTDIR/tiny.qcow2 (64 MiB
# ext4 holding one marker file) and OUTDIR/tiny.cmdline (the kernel command line to boot with).
# A second run finds them and returns at once. Missing tools are installed with apt-get when
# running as root. Markers the guest prints (console=ttyS0):
#   monostack-tiny: booted
#   monostack-tiny: disk vda ok                (the ext4 disk from tiny.qcow2 was mounted)
#   monostack-tiny: config-drive name=N hostname=H uuid=U user_data=BYTES
#   monostack-tiny: dhcp eth0 10.0.2.15
#   monostack-tiny: ready
#   monostack-tiny: power button, powering off
set -euo pipefail

out="${1:?usage: build-tiny.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [[ -s "$out/tiny-vmlinuz" && -s "$out/tiny-initrd" && -s "$out/tiny.qcow2" && -s "$out/tiny.cmdline" ]]; then
	exit 0
fi

say() { echo "build-tiny: $*" >&2; }
die() { say "$*"; exit 1; }

# Tools: dpkg-deb and apt-get come with Debian; qemu-img from qemu-utils, mke2fs from e2fsprogs.
need_pkgs=()
command -v qemu-img >/dev/null || need_pkgs+=(qemu-utils)
command -v mke2fs >/dev/null || [[ -x /usr/sbin/mke2fs ]] || need_pkgs+=(e2fsprogs)
if ((${#need_pkgs[@]})); then
	[[ $(id -u) == 0 ]] || die "missing packages: ${need_pkgs[*]} (run as root or install them)"
	say "installing ${need_pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2; }
fi
PATH="$PATH:/usr/sbin:/sbin"

work="$out/.work"
rm -rf "$work"
mkdir -p "$work/debs"
trap 'rm -rf "$work"' EXIT

# The exact kernel package behind the meta-package (e.g. linux-image-6.1.0-56-cloud-amd64).
kernel_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}
kpkg="$(kernel_pkg)"
if [[ -z "$kpkg" ]]; then
	[[ $(id -u) == 0 ]] || die "apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"
	apt-get update >&2
	kpkg="$(kernel_pkg)"
fi
[[ -n "$kpkg" ]] || die "no linux-image-*-cloud-amd64 package found"
say "kernel package $kpkg"

# apt-get download writes into the current directory; _apt cannot write into root's dirs, which
# only gives a warning.
(cd "$work/debs" && apt-get download "$kpkg" busybox-static >/dev/null 2>"$work/download.log") ||
	{ cat "$work/download.log" >&2; die "apt-get download failed"; }
dpkg-deb -x "$work"/debs/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/debs/busybox-static_*.deb "$work/busybox"
bb="$work/busybox/bin/busybox"
[[ -x "$bb" ]] || die "busybox-static has no bin/busybox"

vmlinuz="$(ls "$work"/kernel/boot/vmlinuz-* | head -n 1)"
[[ -f "$vmlinuz" ]] || die "$kpkg has no /boot/vmlinuz-*"
kver="${vmlinuz##*/vmlinuz-}"
moddir="$work/kernel/lib/modules/$kver"

# The initramfs tree.
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,mnt/config,mnt/disk,tmp,run,etc/acpi/PWRF,usr/share/udhcpc,lib/modules}
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
	[[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
ln -sf ../bin/busybox "$root/sbin/init"

# Kernel modules in load order: each module after the ones its `depends=` line names (the .deb
# ships no depmod output, so the .modinfo section of each .ko is read directly).
wanted=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
	failover net_failover virtio_net virtio_console cdrom isofs button evdev)
declare -A loaded=() path_of=()
while IFS= read -r ko; do
	name="${ko##*/}"
	path_of["${name%.ko}"]="$ko"
done < <(find "$moddir/kernel" -name '*.ko')
order=()
add_module() {
	local m="$1" deps d
	[[ -n "${loaded[$m]:-}" ]] && return 0
	[[ -n "${path_of[$m]:-}" ]] || die "module $m not found in $kpkg"
	loaded[$m]=1
	deps="$(tr '\0' '\n' <"${path_of[$m]}" | sed -n 's/^depends=//p' | head -n 1)"
	for d in ${deps//,/ }; do
		add_module "$d"
	done
	order+=("$m")
}
for m in "${wanted[@]}"; do
	add_module "$m"
done
for m in "${order[@]}"; do
	cp "${path_of[$m]}" "$root/lib/modules/$m.ko"
done
echo "${order[*]}" >"$root/etc/modules.order"

cat >"$root/init" <<'EOF'
#!/bin/sh
# monostack tiny guest: a busybox initramfs that reports what it finds on the serial console.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in $(cat /etc/modules.order); do
	insmod /lib/modules/$m.ko 2>/dev/null
done
echo "monostack-tiny: booted"

# ACPI power button -> poweroff (system_powerdown); "ready" below waits until acpid listens.
acpid -f -c /etc/acpi -l /dev/null &
acpid_pid=$!

# Block devices appear asynchronously after virtio_blk loads.
i=0
while [ $i -lt 20 ] && ! ls /sys/block | grep -q '^vd'; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/vda ] || mdev -s
if mount -t ext4 -o ro /dev/vda /mnt/disk 2>/dev/null; then
	[ -f /mnt/disk/monostack-tiny-disk ] && echo "monostack-tiny: disk vda ok"
	umount /mnt/disk
fi

# The OpenStack config drive (iso9660, label config-2).
json_str() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -n 1; }
cfg=$(findfs LABEL=config-2 2>/dev/null)
if [ -n "$cfg" ] && mount -t iso9660 -o ro "$cfg" /mnt/config; then
	md=/mnt/config/openstack/latest/meta_data.json
	if [ -f "$md" ]; then
		name=$(json_str name "$md")
		host=$(json_str hostname "$md")
		uuid=$(json_str uuid "$md")
		ud=0
		[ -f /mnt/config/openstack/latest/user_data ] &&
			ud=$(wc -c < /mnt/config/openstack/latest/user_data)
		echo "monostack-tiny: config-drive name=$name hostname=$host uuid=$uuid user_data=$ud"
		[ -n "$host" ] && hostname "$host"
	else
		echo "monostack-tiny: config-drive without openstack/latest/meta_data.json"
	fi
fi

# Every NIC gets DHCP; the lease is printed by the udhcpc script.
ip link set lo up
for nic in /sys/class/net/eth*; do
	[ -e "$nic" ] || continue
	n=${nic##*/}
	ip link set "$n" up
	udhcpc -i "$n" -t 5 -T 1 -n -q -s /usr/share/udhcpc/default.script >/dev/null 2>&1 ||
		echo "monostack-tiny: dhcp $n failed"
done

i=0
while [ $i -lt 100 ] && ! ls -l /proc/$acpid_pid/fd 2>/dev/null | grep -q /dev/input/event; do
	sleep 0.1
	i=$((i + 1))
done
echo "monostack-tiny: ready"
while :; do sleep 3600; done
EOF

cat >"$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: configures the interface with the lease and reports it on the console.
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route add default via ${router%% *} dev "$interface" 2>/dev/null
	echo "monostack-tiny: dhcp $interface $ip" > /dev/console ;;
esac
exit 0
EOF

cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "monostack-tiny: power button, powering off" > /dev/console
sync
poweroff -f
EOF
chmod 755 "$root/init" "$root/usr/share/udhcpc/default.script" "$root/etc/acpi/PWRF/00000080"

# Pack the initramfs (busybox's cpio when the host has none).
cpio_cmd=(cpio)
command -v cpio >/dev/null || cpio_cmd=("$bb" cpio)
(cd "$root" && find . | LC_ALL=C sort | "${cpio_cmd[@]}" -o -H newc -R 0:0 2>/dev/null) | gzip -9 >"$work/initrd"

# The disk: 64 MiB ext4 with one marker file, converted to qcow2.
mkdir -p "$work/disk"
echo "monostack tiny test disk" >"$work/disk/monostack-tiny-disk"
truncate -s 64M "$work/disk.raw"
mke2fs -q -t ext4 -L tiny-root -d "$work/disk" "$work/disk.raw" >/dev/null
qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$work/tiny.qcow2"

# Publish all at once: the cache check above looks for these names.
install -m 644 "$vmlinuz" "$out/tiny-vmlinuz.tmp" && mv "$out/tiny-vmlinuz.tmp" "$out/tiny-vmlinuz"
install -m 644 "$work/initrd" "$out/tiny-initrd.tmp" && mv "$out/tiny-initrd.tmp" "$out/tiny-initrd"
install -m 644 "$work/tiny.qcow2" "$out/tiny.qcow2.tmp" && mv "$out/tiny.qcow2.tmp" "$out/tiny.qcow2"
echo "console=ttyS0 quiet panic=-1" >"$out/tiny.cmdline.tmp" && mv "$out/tiny.cmdline.tmp" "$out/tiny.cmdline"
echo "$kpkg" >"$out/tiny.kernel-package"
say "built $out (kernel $kver, initrd $(stat -c %s "$out/tiny-initrd") bytes)"
