#!/usr/bin/env bash
# Builds the project's Dockerfile for real with rootful podman and checks the image as an
# operator uses it: named volume and bind mount, /healthz, a key and an event through the
# admin and inbound APIs, the HEALTHCHECK (healthy, and unhealthy on a wrong port), uid
# 10001 without capabilities, `podman stop` -> SIGTERM -> exit 0, data kept across a
# restart and a new container, and the image's size.
#
# No image registry is reachable here, so debian:bookworm and debian:bookworm-slim are
# made locally with debootstrap from the mirror apt already uses (cached in podman's
# store between runs). Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
scripts/install-deps.sh --container

image=cc-inbound:test
max_image_mb=${CC_MAX_IMAGE_MB:-120}
work=$(mktemp -d /tmp/cc-container.XXXXXX)
suffix=$$
names=()
volumes=()

cleanup() {
  for n in "${names[@]}"; do podman rm -f "$n" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '== %s (%d s)\n' "$*" "$((SECONDS - started))"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# ---- podman settings for this VM: runc (crun fails on hybrid cgroups), cgroupfs (no
# systemd), and rlimits the kernel allows (podman's default 1048576 is refused).
hard_nofile=$(ulimit -Hn)
hard_nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
nproc_limit=32768
for v in "$hard_nproc" "$pid_max"; do
  [[ "$v" =~ ^[0-9]+$ ]] && ((v < nproc_limit)) && nproc_limit=$v
done
[[ "$hard_nofile" =~ ^[0-9]+$ ]] || hard_nofile=65536
export CONTAINERS_CONF=$work/containers.conf
# Without systemd podman logs that it cannot add health-check timers; the checks are run
# by hand below, so keep that noise out of the output.
podman() { command podman "$@" 2> >(grep -v 'systemd connection' >&2); }
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=${hard_nofile}:${hard_nofile}", "nproc=${nproc_limit}:${nproc_limit}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF

# ---- base images, made once from Debian packages.
debian_mirror() {
  # The mirror apt itself uses for bookworm; never written into the repository.
  apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null \
    | awk '$2 == "bookworm" { print $1; exit }'
}

make_base_images() {
  local mirror root
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || fail "apt has no bookworm source to debootstrap from"
  root=$work/rootfs
  step "debootstrap bookworm from apt's mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  # The official images' apt settings: no package caches left in layers, no translations.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";' \
    >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* "$root"/tmp/*
  tar -C "$root" -c . | podman import -q --change 'CMD ["bash"]' - debian:bookworm >/dev/null

  # slim: the same without documentation, manual pages and locales (as the official one).
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  tar -C "$root" -c . | podman import -q --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$root"
}

if podman image exists debian:bookworm && podman image exists debian:bookworm-slim; then
  step "base images debian:bookworm and debian:bookworm-slim already made"
else
  make_base_images
fi

# ---- the image, from the Dockerfile as it is (docker format keeps HEALTHCHECK).
step "podman build"
build_started=$SECONDS
podman build --format docker --network host --pull=never -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; fail "podman build"; }
build_seconds=$((SECONDS - build_started))
size_bytes=$(podman image inspect "$image" --format '{{.Size}}')
size_mb=$((size_bytes / 1000000))
step "image built in ${build_seconds} s, ${size_mb} MB"
((size_mb <= max_image_mb)) || fail "image is ${size_mb} MB, over ${max_image_mb} MB"

# ---- helpers to run and probe containers.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
token=$(openssl rand -hex 32)

http() { # METHOD URL [BODY] [extra curl args...] -> prints "STATUS BODY"
  local method=$1 url=$2 body=${3:-}
  shift 3 || shift $#
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" "$url" -H "Authorization: Bearer $token")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local code
  code=$(curl "${args[@]}" "$@" || true)
  printf '%s %s' "$code" "$(cat "$work/body" 2>/dev/null)"
}

wait_healthz() { # PORT
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz" || true)" == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

run_container() { # NAME PORT MOUNT [extra podman args...]
  local name=$1 port=$2 mount=$3
  shift 3
  names+=("$name")
  podman run -d --name "$name" -p "127.0.0.1:$port:8080" -v "$mount" -e CC_ADMIN_TOKEN="$token" \
    "$@" "$image" >/dev/null
  wait_healthz "$port" || { podman logs "$name" | tail -20; fail "$name: /healthz never answered 200"; }
}

stop_container() { # NAME -> checks SIGTERM leads to exit 0 within the grace
  local name=$1 t0=$SECONDS code
  podman stop -t 20 "$name" >/dev/null
  code=$(podman inspect "$name" --format '{{.State.ExitCode}}')
  [[ "$code" == 0 ]] || { podman logs "$name" | tail -20; fail "$name exited $code after SIGTERM"; }
  ((SECONDS - t0 < 20)) || fail "$name took $((SECONDS - t0)) s to stop"
  podman logs "$name" 2>&1 | grep -q '"stopped"\|"drained"\|shut' || true
}

# ---- 1. named volume: healthz, a domain, a key, an event.
volume=cc-data-$suffix
volumes+=("$volume")
podman volume create "$volume" >/dev/null
port=$(free_port)
step "run with named volume on 127.0.0.1:$port"
run_container "cc-a-$suffix" "$port" "$volume:/data"

res=$(http PUT "http://127.0.0.1:$port/admin/domains/example.com" '{"plan":"signal"}')
[[ "$res" == 200* ]] || fail "PUT domain: $res"
res=$(http POST "http://127.0.0.1:$port/admin/keys" '{"domain":"example.com","name":"Container check"}')
[[ "$res" == 201* ]] || fail "POST key: $res"
key=$(printf '%s' "${res#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
event='{"email":"customer@example.com","event":"purchase","value":99.99,"currency":"USD","event_id":"container-1"}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/__cc/inbound" \
  -H "X-CC-Api-Key: $key" -H 'Content-Type: application/json' --data-binary "$event")
[[ "$code" == 202 ]] || fail "inbound event: $code"
unset key

# ---- 2. the HEALTHCHECK as the engine runs it (no systemd here, so run it by hand).
podman healthcheck run "cc-a-$suffix" >/dev/null || fail "healthcheck of a healthy container failed"
step "healthcheck healthy"

# ---- 3. uid 10001 and no capabilities.
uid=$(podman exec "cc-a-$suffix" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status; awk "/^Uid:/ {print \$2}" /proc/$(pidof cc-inbound)/status' | sort -u | tr '\n' ' ')
server_uid=$(podman exec "cc-a-$suffix" sh -c 'awk "/^Uid:/ {print \$2}" /proc/$(pidof cc-inbound)/status')
[[ "$server_uid" == 10001 ]] || fail "server runs as uid $server_uid (all: $uid)"
caps=$(podman exec "cc-a-$suffix" sh -c 'awk "/^CapEff:/ {print \$2}" /proc/$(pidof cc-inbound)/status')
[[ "$caps" =~ ^0+$ ]] || fail "server has capabilities $caps"
step "server runs as uid 10001 with CapEff $caps"

# ---- 4. stop: SIGTERM through tini, exit 0; restart keeps the event.
stop_container "cc-a-$suffix"
step "podman stop -> exit 0"
podman start "cc-a-$suffix" >/dev/null
wait_healthz "$port" || fail "restarted container never healthy"
res=$(http GET "http://127.0.0.1:$port/admin/events?domain=example.com")
[[ "$res" == 200*container-1* ]] || fail "event gone after restart: $res"
stop_container "cc-a-$suffix"
step "event kept across a restart"

# ---- 5. a new container on the same volume sees it too.
port=$(free_port)
run_container "cc-b-$suffix" "$port" "$volume:/data"
res=$(http GET "http://127.0.0.1:$port/admin/events?domain=example.com")
[[ "$res" == 200*container-1* ]] || fail "event not seen by a new container on the volume: $res"
stop_container "cc-b-$suffix"
step "event seen by a new container on the same volume"

# ---- 6. unhealthy when the service is not where the HEALTHCHECK looks.
port=$(free_port)
names+=("cc-c-$suffix")
# The address on the command line differs from the image's CC_LISTEN (0.0.0.0:8080).
podman run -d --name "cc-c-$suffix" -p "127.0.0.1:$port:9000" -v "$volume:/data" \
  -e CC_ADMIN_TOKEN="$token" "$image" serve --listen 0.0.0.0:9000 >/dev/null
wait_healthz "$port" || fail "container with --listen never answered"
podman healthcheck run "cc-c-$suffix" >/dev/null || fail "healthcheck misses an address given on the command line"
podman rm -f "cc-c-$suffix" >/dev/null
names+=("cc-d-$suffix")
podman run -d --name "cc-d-$suffix" -v "$volume:/data" -e CC_ADMIN_TOKEN="$token" \
  -e CC_LISTEN=0.0.0.0:8080 --health-cmd '/usr/local/bin/cc-inbound healthcheck --listen 127.0.0.1:8081' \
  "$image" >/dev/null
sleep 1
if podman healthcheck run "cc-d-$suffix" >/dev/null 2>&1; then fail "healthcheck on a wrong port reported healthy"; fi
podman rm -f "cc-d-$suffix" >/dev/null
step "healthcheck unhealthy on a wrong port"

# ---- 7. a bind-mounted folder owned by uid 10001 works; a root-owned one says why not.
bind=$work/bind
mkdir -p "$bind"
chown 10001:10001 "$bind"
chmod 700 "$bind"
port=$(free_port)
run_container "cc-e-$suffix" "$port" "$bind:/data"
stop_container "cc-e-$suffix"
[[ -f "$bind/cc-inbound.db" ]] || fail "no database in the bind-mounted folder"
step "bind mount owned by 10001 works"
rootbind=$work/rootbind
mkdir -p "$rootbind"
chmod 755 "$rootbind"
names+=("cc-f-$suffix")
podman run -d --name "cc-f-$suffix" -v "$rootbind:/data" -e CC_ADMIN_TOKEN="$token" "$image" >/dev/null || true
podman wait "cc-f-$suffix" >/dev/null 2>&1 || true
logs=$(podman logs "cc-f-$suffix" 2>&1 || true)
code=$(podman inspect "cc-f-$suffix" --format '{{.State.ExitCode}}')
[[ "$code" != 0 ]] || fail "a root-owned data folder was accepted"
grep -qiE 'not writable by uid 10001' <<<"$logs" || fail "no clear error for a root-owned data folder: $logs"
step "root-owned bind mount refused: $(grep -iE 'not writable' <<<"$logs" | head -1)"

step "container checks passed (build ${build_seconds} s, image ${size_mb} MB)"
echo "container: 1 passed, 0 failed"
