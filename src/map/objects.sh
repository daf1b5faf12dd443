# The names of a pool's objects, in one namespace, that begin with a
# prefix, from one `rados ls` (run in the mon's container).
# $1 cluster, $2 pool, $3 namespace (empty: the default one), $4 prefix.
set -e
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -n "$3" ]; then
	rados --cluster "$1" --pool "$2" --namespace "$3" ls >"$list"
else
	rados --cluster "$1" --pool "$2" ls >"$list"
fi
grep -F -e "$4" "$list" || true
