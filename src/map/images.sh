# `rbd info --format json` of every image of a pool's namespace, one a
# line (run in the mon's container). An image that cannot be opened (being
# removed) is said on stderr and skipped.
# $1 cluster, $2 pool, $3 namespace (empty: the default one).
set -e
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -n "$3" ]; then
	set -- "$1" "$2" --namespace "$3"
else
	set -- "$1" "$2"
fi
cluster=$1
pool=$2
shift 2
rbd --cluster "$cluster" ls --pool "$pool" "$@" >"$list"
while IFS= read -r image; do
	[ -n "$image" ] || continue
	rbd --cluster "$cluster" info --format json --pool "$pool" "$@" --image "$image" ||
		echo "cannot open image $image" >&2
	echo
done <"$list"
