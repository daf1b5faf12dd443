# Labels one OSD disk for kolla: a GPT with the given partitions, after
# wiping the disk and its partitions when asked.
# Arguments: ZAP (zap or keep) DEVICE, then parted's words for the table
# (mklabel gpt mkpart NAME START END ...).
zap=$1 dev=$2
shift 2
if [ "$zap" = zap ]; then
  wipefs -a -q -- "$dev"* 2>/dev/null
  wipefs -a -q -- "$dev" || exit 1
fi
parted -s -a optimal "$dev" -- "$@" || exit 1
# Without udev, the kernel re-reads the table when parted asks; wait for
# the partition nodes.
for i in $(seq 1 50); do [ -e "${dev}1" ] || [ -e "${dev}p1" ] && exit 0; sleep 0.1; done
exit 0
