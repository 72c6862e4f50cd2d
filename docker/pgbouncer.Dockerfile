# pgbouncer for compose: Debian's package plus pgbouncer/entrypoint.sh, which
# renders the same pgbouncer/pgbouncer.ini.template as the local stack.
# Build from the repository root: docker build -f docker/pgbouncer.Dockerfile .
FROM debian:bookworm-slim
ARG PGBOUNCER_VERSION=1.18.0-1+deb12u1
RUN apt-get update \
    && apt-get install -y --no-install-recommends "pgbouncer=${PGBOUNCER_VERSION}" \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10002 --user-group --no-create-home --shell /usr/sbin/nologin pgbouncer \
    && install -d -o pgbouncer -g pgbouncer -m 0700 /run/pgbouncer
COPY pgbouncer/pgbouncer.ini.template pgbouncer/defaults.env pgbouncer/entrypoint.sh /etc/siprems-pgbouncer/
USER 10002:10002
EXPOSE 6432
ENV PGBOUNCER_RUN_DIR=/run/pgbouncer
# Healthy once it accepts connections (bash's /dev/tcp: no client tools needed).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${LISTEN_PORT:-6432}"]
ENTRYPOINT ["/bin/sh", "/etc/siprems-pgbouncer/entrypoint.sh"]
