# cc-inbound container image.
#   docker build -t cc-inbound .
#   export CC_ADMIN_TOKEN=$(openssl rand -hex 32)
#   docker run -d --name cc-inbound -p 127.0.0.1:8080:8080 -v cc-data:/data -e CC_ADMIN_TOKEN cc-inbound
# The database lives in the /data volume; the process runs as the non-root user cc (uid 10001).

# ---- build stage: the packages of scripts/install-deps.sh that the Release build needs ----
FROM debian:bookworm AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config \
      libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libsqlite3-dev libpq-dev libssl-dev \
      zlib1g-dev libcli11-dev libhowardhinnant-date-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCC_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)"

# ---- runtime stage: only the shared libraries the binary links (see docs/ARCHITECTURE.md) ----
FROM debian:bookworm-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libsqlite3-0 libpq5 libssl3 zlib1g libspdlog1.10 libfmt9 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 cc \
 && useradd --uid 10001 --gid cc --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin cc \
 && mkdir -p /data \
 && chown cc:cc /data
COPY --from=build /src/build/cc-inbound /usr/local/bin/cc-inbound

# Listen on every interface inside the container; keep the database in the volume.
ENV CC_LISTEN=0.0.0.0:8080 \
    CC_DATABASE=/data/cc-inbound.db
WORKDIR /data
VOLUME /data
EXPOSE 8080
USER cc

# `cc-inbound healthcheck` GETs /healthz on CC_LISTEN (0.0.0.0 is probed as 127.0.0.1):
# exit 0 on a 200 within 3 s, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/cc-inbound","healthcheck"]

# tini is PID 1: it forwards SIGTERM (docker stop) to cc-inbound, which drains and exits 0.
ENTRYPOINT ["/usr/bin/tini","--","/usr/local/bin/cc-inbound"]
CMD ["serve"]
