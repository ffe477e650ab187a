#!/bin/sh
# Renders plugins/irsa-doctor.yaml for a release: usage: render-manifest.sh TAG DIST_DIR
# DIST_DIR holds irsa-doctor-TAG-<target>.tar.gz for every target the manifest names.
# Prints the manifest with {{TAG}} and each {{SHA256:<target>}} filled in; fails when an
# archive is missing, so a manifest with a placeholder is never published.
set -eu
tag=${1:?usage: render-manifest.sh TAG DIST_DIR}
dist=${2:?usage: render-manifest.sh TAG DIST_DIR}
here=$(cd "$(dirname "$0")" && pwd)
manifest=$here/irsa-doctor.yaml
sum() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
script="s|{{TAG}}|$tag|g"
for target in $(grep -v '^#' "$manifest" | grep -o '{{SHA256:[^}]*}}' | sed 's/{{SHA256:\(.*\)}}/\1/' | sort -u); do
  archive=$dist/irsa-doctor-$tag-$target.tar.gz
  if [ ! -f "$archive" ]; then
    echo "render-manifest.sh: $archive is missing" >&2
    exit 1
  fi
  script="$script;s|{{SHA256:$target}}|$(sum "$archive")|g"
done
# Lines starting with `#:` describe the template only.
sed "/^#:/d;$script" "$manifest"
