// The two small init programs a lab VM boots through: the initramfs's /init and the guest's /sbin/gauntlet-init.

/** Kernel arguments the guest init reads (`gauntlet.fs=xfs`), so one image serves every VM. */
export const GUEST_ARG_PREFIX = 'gauntlet.';

/** The disks as the guest sees them, in the order qemu.ts attaches them. */
export const GUEST_DISKS = { root: '/dev/vda', data: '/dev/vdb', modules: '/dev/vdc' } as const;

/** Where a podman VM's docker-compatible API listens (`gauntlet_docker_socket` in the inventory). */
export const PODMAN_SOCKET = '/run/podman/podman.sock';

/** Where the guest init writes why it did not start the engine. */
export const INIT_ERROR_FILE = '/run/gauntlet-init.error';

/**
 * busybox /init in the initramfs: load just the modules that reach the root disk (Debian builds virtio and
 * ext4 as modules), mount it and switch to it. A failure exits, which panics the kernel, which ends QEMU
 * (-no-reboot): the lab then reports the serial log's tail instead of waiting for an SSH that never comes.
 */
export function renderInitramfsInit(): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r module params; do
  # crc32c-intel needs SSE4.2, which TCG's default CPU lacks; ext4 then uses crc32c_generic.
  insmod "/modules/$module" $params 2>/dev/null || case "$module" in
    crc32c-intel.ko) ;;
    *) echo "gauntlet-initramfs: insmod $module failed" ;;
  esac
done < /modules/order
i=0
while [ ! -b ${GUEST_DISKS.root} ] && [ $i -lt 400 ]; do usleep 25000; i=$((i + 1)); done
if ! mount -t ext4 -o rw ${GUEST_DISKS.root} /newroot; then
  echo "gauntlet-initramfs: cannot mount the root disk ${GUEST_DISKS.root}"
  exit 1
fi
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/gauntlet-init
`;
}

/**
 * The guest's PID 1: mounts, modules, network, sshd, the data disk and the engine (dockerd or podman's API
 * service), then reaps orphans forever.
 * systemd would take ~25 s under TCG; this reaches SSH in a few seconds.
 */
export function renderGuestInit(): string {
  return `#!/bin/sh
# gauntlet lab guest init (PID 1): start only what a test host needs, log each step to the kernel log.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "gauntlet-init: $* (uptime $(cut -d' ' -f1 /proc/uptime) s)" > /dev/kmsg 2>/dev/null || echo "gauntlet-init: $*"; }
arg() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "${GUEST_ARG_PREFIX}$1="*) echo "\${word#*=}"; return ;; esac
  done
  echo "$2"
}

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mount -o remount,rw /
mkdir -p /dev/pts /dev/shm /dev/mqueue /run /tmp /sys/fs/cgroup /lib/modules
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t ext4 -o ro ${GUEST_DISKS.modules} /lib/modules || say "cannot mount the modules disk ${GUEST_DISKS.modules}"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /sys/fs/pstore && mount -t pstore pstore /sys/fs/pstore 2>/dev/null
modprobe -a ramoops virtio_net overlay br_netfilter veth bridge 2>/dev/null
hostname "$(arg name lab)"

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "nameserver 10.0.2.3" > /etc/resolv.conf

mkdir -p /run/sshd
/usr/sbin/sshd -E /var/log/sshd.log && say "sshd started"

fs="$(arg fs ext4)"
driver="$(arg driver overlay2)"
engine="$(arg engine docker)"
case "$engine" in
  podman) data_root=/var/lib/containers/storage ;;
  *) data_root=/var/lib/docker ;;
esac
mkdir -p "$data_root"
modprobe "$fs" 2>/dev/null
# A data disk that cannot be formatted or mounted stops the boot of the engine: an engine on the root disk
# would be a different stack from the one asked for. lab up reads the reason from ${INIT_ERROR_FILE}.
fail() { say "$*"; echo "$*" >> ${INIT_ERROR_FILE}; }
if ! blkid ${GUEST_DISKS.data} >/dev/null 2>&1; then
  # Labels: xfs allows at most 12 characters.
  case "$fs" in
    ext4) mkfs.ext4 -q -L gauntlet ${GUEST_DISKS.data} ;;
    xfs) mkfs.xfs -q -L gauntlet ${GUEST_DISKS.data} ;;
    btrfs) mkfs.btrfs -q -f -L gauntlet ${GUEST_DISKS.data} ;;
  esac > /run/gauntlet-mkfs.log 2>&1 && say "formatted ${GUEST_DISKS.data} as $fs" || fail "cannot format ${GUEST_DISKS.data} as $fs: $(head -c 300 /run/gauntlet-mkfs.log)"
fi
if [ -s ${INIT_ERROR_FILE} ]; then
  :
elif ! mount -t "$fs" ${GUEST_DISKS.data} "$data_root"; then
  fail "cannot mount the data disk ${GUEST_DISKS.data} as $fs on $data_root"
else
  case "$engine" in
    podman)
      # podman calls docker's overlay2 "overlay"; its docker-compatible API listens on ${PODMAN_SOCKET}.
      [ "$driver" = overlay2 ] && driver=overlay
      mkdir -p /etc/containers /run/podman
      printf '[storage]\ndriver = "%s"\nrunroot = "/run/containers/storage"\ngraphroot = "%s"\n' "$driver" "$data_root" > /etc/containers/storage.conf
      podman system service --time=0 unix://${PODMAN_SOCKET} > /var/log/podman.log 2>&1 &
      ;;
    *)
      mkdir -p /etc/docker
      printf '{"storage-driver": "%s", "data-root": "%s"}\n' "$driver" "$data_root" > /etc/docker/daemon.json
      dockerd > /var/log/dockerd.log 2>&1 &
      ;;
  esac
  say "$engine started (storage driver $driver on $fs)"
fi

# netconsole: kernel messages as UDP to the runner (10.0.2.2 is the runner's loopback under QEMU user networking).
nc_port="$(arg netconsole '')"
if [ -n "$nc_port" ]; then
  modprobe netconsole "netconsole=6665@10.0.2.15/eth0,$nc_port@10.0.2.2/52:55:0a:00:02:02" && say "netconsole to the runner's UDP port $nc_port"
fi

# 'quiet' lowered the console level to errors only: restore it so warnings and OOM reports reach the serial log.
echo 7 > /proc/sys/kernel/printk

# PID 1 adopts every orphan: each wait reaps whatever has exited meanwhile.
trap '' TERM INT HUP
while :; do
  sleep 5 &
  wait $! 2>/dev/null
done
`;
}

/** sshd settings baked into the image: the one pinned host key, keys only, no DNS lookups. */
export function renderSshdConfig(): string {
  return `# gauntlet lab: one pinned host key, key authentication only.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
AllowStreamLocalForwarding yes
ClientAliveInterval 0
`;
}
