# syntax=docker/dockerfile:1
# Ordo's images: one target per deployable, built from the repository root.
#
#   docker build --target orchestrator   -t ordo/orchestrator .
#   docker build --target dlq-processor  -t ordo/dlq-processor .
#   docker build --target example-worker -t ordo/example-worker .
#
# orchestrator    `server` (the default command): an orchestrator node with the HTTP API on 8080.
#                 `migrate`: applies the migrations and exits (the migration job; run the servers with ORDO_MIGRATE=false).
#                 `token create --role ROLE`: prints a new API token.
# dlq-processor   a dlq-processor with its admin endpoints and health on 8082.
# example-worker  the handlers of examples/worker on the worker container: pass `--namespace fulfillment` or
#                 `--namespace inventory`; health on 8081.
#
# Every image runs as user 10001 (no shell login, owns nothing), reads its settings from ORDO_* and OTEL_* variables
# and holds no secret: give it ORDO_DATABASE_URL at run time. On SIGTERM the process fails readiness at once, finishes
# its work in hand (a worker: up to ORDO_WORKER_SHUTDOWN_GRACE), hands back what it holds, leaves the node registry and
# exits 0: give the platform's stop timeout a margin over that (docker --stop-timeout, compose stop_grace_period,
# Kubernetes terminationGracePeriodSeconds). The root filesystem may be read-only; the JVM writes only to /tmp.
#
# The JVM sizes itself from the container's limits (container support is on by default): the heap takes 75% of the
# memory limit, an out-of-memory error ends the process so the platform restarts it, and the parallel collector
# spends less CPU than G1 on nodes that keep little live data (load-tests/RESULTS.md). Add flags with
# JDK_JAVA_OPTIONS. `deploy/docker/healthcheck PORT [PATH]` is the probe for docker's own health checks.

ARG JAVA_VERSION=21

FROM maven:3.9-eclipse-temurin-${JAVA_VERSION} AS build
WORKDIR /src
COPY . .
# dependency:copy-dependencies puts each deployable's runtime classpath in its target/dependency; the embedded
# PostgreSQL of the demo and the tests stays out of the images
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -DskipTests -pl orchestrator,dlq-processor,examples/worker -am \
        package dependency:copy-dependencies -DincludeScope=runtime -DexcludeGroupIds=io.zonky.test \
    && mkdir -p /out/orchestrator /out/dlq-processor /out/example-worker \
    && cp orchestrator/target/dependency/*.jar orchestrator/target/ordo-orchestrator-*.jar /out/orchestrator/ \
    && cp dlq-processor/target/dependency/*.jar dlq-processor/target/ordo-dlq-processor-*.jar /out/dlq-processor/ \
    && cp examples/worker/target/dependency/*.jar examples/worker/target/ordo-example-worker.jar /out/example-worker/

FROM eclipse-temurin:${JAVA_VERSION}-jre AS runtime
RUN groupadd --system --gid 10001 ordo \
    && useradd --system --uid 10001 --gid ordo --home-dir /app --no-create-home --shell /usr/sbin/nologin ordo
WORKDIR /app
COPY --chmod=0755 deploy/docker/healthcheck /app/bin/healthcheck

FROM runtime AS orchestrator
COPY --from=build /out/orchestrator/ /app/lib/
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/app/bin/healthcheck", "8080"]
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseParallelGC", "-cp", "/app/lib/*", "io.ordo.orchestrator.Main"]
CMD ["server"]

FROM runtime AS dlq-processor
COPY --from=build /out/dlq-processor/ /app/lib/
USER 10001:10001
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/app/bin/healthcheck", "8082"]
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseParallelGC", "-cp", "/app/lib/*", "io.ordo.dlq.DlqCommand"]

FROM runtime AS example-worker
COPY --from=build /out/example-worker/ /app/lib/
USER 10001:10001
ENV ORDO_WORKER_HEALTH_PORT=8081 \
    ORDO_WORKER_SHUTDOWN_GRACE=20s
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/app/bin/healthcheck", "8081"]
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseParallelGC", "-cp", "/app/lib/*", "io.ordo.worker.container.WorkerMain"]
