#!/usr/bin/env bash
# Builds octorun's images from their own Dockerfiles with buildah (daemonless, no Docker engine)
# into OCI archives that the real test node imports (`ctr images import`), under
# $OCTORUN_CACHE/images/<name>.tar, each carrying the reference octorun.test/<name>:dev.
#
# No upstream base image can be pulled where this runs, so the bases are built here first, once
# per machine, and passed to the Dockerfiles as build arguments (a plain `docker build` keeps the
# upstream bases):
#   octorun.local/debian:bookworm      debootstrap (minbase) from Debian's packages
#   octorun.local/node:<v>-bookworm-slim  that, plus the pinned Node binary (the npm package `node`)
#                                      and npm, laid out as the official node image
#   octorun.local/actions-runner:standin  libs/testkit/runner-standin: GitHub's runner image's
#                                      account layout and files, with a listener that talks to the
#                                      GitHub simulator
#   octorun.test/pause:1               the Pod sandbox image: busybox-static, sleeping until TERM
#
#   IMAGES (default: all)  any of: pause runner controller admission-webhook github-ingress state-metrics
# Idempotent: an image whose inputs did not change is not looked at again; otherwise buildah's
# layer cache rebuilds only what changed, and an archive is written again only when its image
# changed. Needs root, buildah, debootstrap, busybox-static.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${OCTORUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/octorun}
OUT=$CACHE/images
IMAGES=${IMAGES:-"pause runner controller admission-webhook github-ingress state-metrics"}
NPM_VERSION=11.21.2          # npm inside the Node base, as the official image carries one
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { printf '[octorun images] %s\n' "$*" >&2; }

for tool in buildah debootstrap busybox; do
  command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install buildah debootstrap busybox-static)"; exit 3; }
done
[ "$(id -u)" = 0 ] || { say "building images needs root (buildah's storage, debootstrap)"; exit 3; }
NODE_BIN=$(readlink -f "$ROOT/node_modules/node/bin/node")
[ -x "$NODE_BIN" ] || { say "no pinned Node in node_modules: run npm run setup first"; exit 3; }
NODE_VERSION=$("$NODE_BIN" --version); NODE_VERSION=${NODE_VERSION#v}

mkdir -p "$OUT"

# What an image is built from, hashed: an image whose archive was written from the same inputs is
# up to date without asking buildah (which would take the lock and hash the whole context).
inputs_of() {
  case "$1" in
    pause) printf 'pause 1 %s\n' "$(sha256sum "$(readlink -f "$(command -v busybox)")")" ;;
    runner) (cd "$ROOT" && find runner libs/testkit/runner-standin -type f -print0 | sort -z | xargs -0 sha256sum
      printf 'node %s\n' "$NODE_VERSION") ;;
    *) (cd "$ROOT" && find package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc .dockerignore patches e2e/package.json \
        libs services -type f -not -path '*/node_modules/*' -not -path '*/test/*' -print0 | sort -z | xargs -0 sha256sum
      printf 'node %s npm %s\n' "$NODE_VERSION" "$NPM_VERSION") ;;
  esac | sha256sum | cut -d' ' -f1
}
stale=()
for name in $IMAGES; do
  if [ -s "$OUT/$name.tar" ] && [ "$(cat "$OUT/$name.inputs" 2>/dev/null)" = "$(inputs_of "$name")" ]; then continue; fi
  stale+=("$name")
done
[ ${#stale[@]} -gt 0 ] || exit 0
IMAGES="${stale[*]}"

exec 9>"$OUT/.lock"
flock -n 9 || { say "another image build is running; waiting for it"; flock 9; }
BUILDAH=(buildah --storage-driver overlay)
exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }
wanted() { [[ " $IMAGES " == *" $1 "* ]]; }

# ------------------------------------------------------------------------- bases
DEBIAN_IMAGE=octorun.local/debian:$DEBIAN_SUITE
if ! exists "$DEBIAN_IMAGE"; then
  say "building $DEBIAN_IMAGE with debootstrap (about 1.5 minutes)"
  rootfs=$(mktemp -d "$OUT/.rootfs.XXXXXX")
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$OUT/debootstrap.log" 2>&1 ||
    { say "debootstrap failed; see $OUT/debootstrap.log"; exit 1; }
  # As Docker's debian:slim: no package caches, documentation or manual pages.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  ctr=$("${BUILDAH[@]}" from scratch)
  mnt=$("${BUILDAH[@]}" mount "$ctr")
  tar -C "$rootfs" -cf - . | tar -C "$mnt" -xpf -
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

NODE_IMAGE=octorun.local/node:$NODE_VERSION-$DEBIAN_SUITE-slim
if wanted controller || wanted admission-webhook || wanted github-ingress || wanted state-metrics; then
  if ! exists "$NODE_IMAGE"; then
    say "building $NODE_IMAGE (Node $NODE_VERSION from node_modules, npm $NPM_VERSION)"
    ctr=$("${BUILDAH[@]}" from "$DEBIAN_IMAGE")
    mnt=$("${BUILDAH[@]}" mount "$ctr")
    install -D -m 0755 "$NODE_BIN" "$mnt/usr/local/bin/node"
    # The official image's layout: npm under /usr/local/lib/node_modules, npm and npx in /usr/local/bin.
    PATH="$(dirname "$NODE_BIN"):$PATH" npm install --global --prefix "$mnt/usr/local" --no-audit --no-fund \
      --loglevel=error "npm@$NPM_VERSION" >/dev/null
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" run --isolation chroot "$ctr" -- sh -c \
      'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
    "${BUILDAH[@]}" config --env NODE_VERSION="$NODE_VERSION" --cmd node "$ctr"
    "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$NODE_IMAGE" >/dev/null
  fi
fi

RUNNER_IMAGE=octorun.local/actions-runner:standin
if wanted runner; then
  context=$(mktemp -d "$OUT/.standin.XXXXXX")
  cp "$ROOT"/libs/testkit/runner-standin/* "$context/"
  cp "$NODE_BIN" "$context/node"
  say "building $RUNNER_IMAGE (the stand-in for GitHub's runner image)"
  "${BUILDAH[@]}" bud --quiet --layers --isolation chroot --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" \
    -t "$RUNNER_IMAGE" "$context" >/dev/null
  rm -rf "$context"
fi

# ------------------------------------------------------------------------- archives
# Writes <name>.tar when the image differs from the one archived last.
archive() {
  local name=$1 ref=$2 id
  id=$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$ref")
  if [ -s "$OUT/$name.tar" ] && [ "$(cat "$OUT/$name.id" 2>/dev/null)" = "$id" ]; then return; fi
  rm -f "$OUT/$name.tar.tmp"
  "${BUILDAH[@]}" push --quiet "$ref" "oci-archive:$OUT/$name.tar.tmp:$ref" >/dev/null
  mv "$OUT/$name.tar.tmp" "$OUT/$name.tar"
  printf '%s' "$id" >"$OUT/$name.id"
  say "wrote $OUT/$name.tar ($ref)"
}
# Records what an archive was built from (after archive(), so an interrupted build is never taken for done).
built() { inputs_of "$1" >"$OUT/$1.inputs"; }

if wanted pause; then
  if ! exists octorun.test/pause:1; then
    ctr=$("${BUILDAH[@]}" from scratch)
    "${BUILDAH[@]}" copy "$ctr" "$(readlink -f "$(command -v busybox)")" /bin/busybox >/dev/null
    "${BUILDAH[@]}" config --entrypoint \
      '["/bin/busybox","sh","-c","trap \"exit 0\" TERM INT; while true; do /bin/busybox sleep 3600 & wait; done"]' "$ctr"
    "${BUILDAH[@]}" commit --quiet --rm "$ctr" octorun.test/pause:1 >/dev/null
  fi
  archive pause octorun.test/pause:1
  built pause
fi

if wanted runner; then
  say "building octorun.test/runner:dev from runner/Dockerfile"
  "${BUILDAH[@]}" bud --quiet --layers --isolation chroot --build-arg RUNNER_IMAGE="$RUNNER_IMAGE" \
    -t octorun.test/runner:dev "$ROOT/runner" >/dev/null
  archive runner octorun.test/runner:dev
  built runner
fi

# Where the registries are reached through a TLS-inspecting proxy, the machine trusts its CA
# (NODE_EXTRA_CA_CERTS): the build steps' npm and pnpm trust it too, through a user npmrc mounted
# for the build only, so that the images do not keep it.
build_ca=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
  printf 'cafile=/etc/octorun-build-ca.crt\n' >"$OUT/build-npmrc"
  build_ca=(--volume "$NODE_EXTRA_CA_CERTS:/etc/octorun-build-ca.crt:ro" --volume "$OUT/build-npmrc:/root/.npmrc:ro")
fi
for service in controller admission-webhook github-ingress state-metrics; do
  wanted "$service" || continue
  say "building octorun.test/$service:dev from services/$service/Dockerfile"
  "${BUILDAH[@]}" bud --quiet --layers --isolation chroot --build-arg NODE_IMAGE="$NODE_IMAGE" "${build_ca[@]}" \
    -f "$ROOT/services/$service/Dockerfile" -t "octorun.test/$service:dev" "$ROOT" >/dev/null
  archive "$service" "octorun.test/$service:dev"
  built "$service"
done
say "images ready in $OUT"
