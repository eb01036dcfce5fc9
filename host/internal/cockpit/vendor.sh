#!/usr/bin/env bash
# Re-downloads the cockpit's vendored files listed in vendor.txt and
# verifies every checksum before copying them into web/vendor/ (make
# web-vendor). Needs npm, which only this maintenance step uses: building
# and running STC need nothing but Go. To update a package, change its
# version in vendor.txt, run this with UPDATE=1 (it prints the new sums
# instead of refusing them), review the diff and put the sums in.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "web-vendor: npm is needed to fetch the vendored packages"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
declare -A tarball
while read -r kind name a b c d; do
	case "$kind" in
	package)
		version=$a sum=$c
		(cd "$work" && npm pack --silent "$name@$version" >/dev/null)
		tgz="$work/$name-$version.tgz"
		got=$(sha256sum "$tgz" | cut -d' ' -f1)
		if [[ "$got" != "$sum" ]]; then
			echo "web-vendor: $name@$version tarball sha256 $got, vendor.txt says $sum"
			status=1
			[[ "${UPDATE:-}" == 1 ]] || continue
		fi
		mkdir -p "$work/$name"
		tar -xzf "$tgz" -C "$work/$name"
		tarball[$name]="$work/$name"
		echo "web-vendor: $name@$version ($b) fetched"
		;;
	file)
		src=$a dst=$b sum=$c
		[[ -n "${tarball[$name]:-}" ]] || { echo "web-vendor: $dst: package $name was not fetched"; status=1; continue; }
		got=$(sha256sum "${tarball[$name]}/$src" | cut -d' ' -f1)
		if [[ "$got" != "$sum" ]]; then
			echo "web-vendor: $dst sha256 $got, vendor.txt says $sum"
			status=1
			[[ "${UPDATE:-}" == 1 ]] || continue
		fi
		mkdir -p "web/vendor/$(dirname "$dst")"
		cp "${tarball[$name]}/$src" "web/vendor/$dst"
		echo "web-vendor: web/vendor/$dst verified"
		;;
	esac
done < <(grep -v '^#' vendor.txt | grep -v '^$')
exit $status
