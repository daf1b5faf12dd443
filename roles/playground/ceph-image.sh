#!/bin/sh
# Recipe of the playground's Ceph daemon image for one release, from the
# Debian suite that ships it (RELEASE and SUITE come from cephalo's release
# table). Run as root inside a container of that suite's debootstrap base
# image; the container is then exported and imported as cephalo/ceph:RELEASE.
# cephalo hashes this file: any change here rebuilds the images.
set -eu
export DEBIAN_FRONTEND=noninteractive
# sid's Release file carries a Valid-Until date, which a machine whose
# clock runs ahead (or a snapshot mirror) sees as expired.
echo 'Acquire::Check-Valid-Until "false";' >/etc/apt/apt.conf.d/99cephalo-build
# No init system here: maintainer scripts must not start services (sid's
# ceph-mon postinst fails on `deb-systemd-invoke try-restart` otherwise).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# The upstream images' layout (quay.io/ceph/ceph, RHEL-family builds): the
# ceph user and group are 167, not Debian's 64045. Made before the packages,
# whose maintainer scripts keep an existing ceph user, so that cephalo is
# proven to learn the ceph user from the image (as cephadm does) instead
# of assuming Debian's.
groupadd --system --gid 167 ceph
useradd --system --uid 167 --gid ceph --home-dir /var/lib/ceph --no-create-home \
  --shell /usr/sbin/nologin --comment "Ceph storage service" ceph

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common radosgw parted gdisk xfsprogs >/dev/null

case "$RELEASE" in
reef)
  # trixie's python3-bcrypt 4.x breaks a dozen ceph-mgr modules of Reef;
  # bookworm's 3.2.2 works with them.
  echo "deb http://deb.debian.org/debian bookworm main" >/etc/apt/sources.list.d/bookworm.list
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends --allow-downgrades python3-bcrypt/bookworm >/dev/null
  rm /etc/apt/sources.list.d/bookworm.list
  # The `restful` module still fails here ("PyO3 modules compiled for
  # CPython 3.8 or older may only be initialized once per interpreter
  # process": trixie's python3-cryptography in the mgr's sub-interpreters),
  # which keeps HEALTH_WARN MGR_MODULE_DEPENDENCY up for good. Nothing in
  # the playground uses it: without the module, a cluster deployed on Reef
  # and one upgraded to it (restful is enabled since Nautilus) are healthy.
  rm -rf /usr/share/ceph/mgr/restful
  ;;
esac

apt-get clean
rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/99cephalo-build /usr/sbin/policy-rc.d

# Admin sockets: the images have no /var/run/ceph; the ceph user must own
# it, as it owns /var/lib/ceph.
install -d -m 0770 -o ceph -g ceph /var/run/ceph
[ "$(stat -c %u:%g /var/lib/ceph)" = 167:167 ] || { echo "/var/lib/ceph is not 167:167" >&2; exit 1; }
ceph --version
