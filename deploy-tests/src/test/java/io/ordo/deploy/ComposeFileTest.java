package io.ordo.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * docker-compose.yml starts PostgreSQL, then the migration job, then the Ordo services, each with a health check,
 * waits on health and completion rather than on start, builds every Ordo image from the Dockerfile's targets, keeps
 * no secret, and gives every process the time it needs to drain. docker-compose validates the file when it is
 * installed.
 */
class ComposeFileTest {
    private static final Pattern INTERPOLATION = Pattern.compile("^\\$\\{[A-Z_][A-Z0-9_]*(:?-[^}]*)?}$");
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY).*");
    private static final Pattern URL_CREDENTIALS = Pattern.compile("://[^:/@\\s]+:([^@\\s]+)@");
    private static final Set<String> ORDO_TARGETS = Set.of("orchestrator", "dlq-processor", "example-worker");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static JsonNode compose;
    private static JsonNode services;

    @BeforeAll
    static void read() throws IOException {
        compose = YAML.readTree(Repository.file("docker-compose.yml").toFile());
        services = compose.path("services");
    }

    private static Map<String, JsonNode> services() {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        services.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new HashMap<>();
        service.path("environment").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        return env;
    }

    /** The Dockerfile target a service is built from, or null for a third-party image. */
    private static String target(JsonNode service) {
        return service.has("build") ? service.path("build").path("target").asText() : null;
    }

    /** Whether a service runs one of Ordo's images. */
    private static boolean ordo(JsonNode service) {
        String target = target(service);
        return target != null && ORDO_TARGETS.contains(target);
    }

    /** Services that others wait for with service_completed_successfully: they run once and exit. */
    private static Set<String> oneShot() {
        Set<String> out = new HashSet<>();
        services().values().forEach(s -> s.path("depends_on").properties().forEach(d -> {
            if (d.getValue().path("condition").asText().equals("service_completed_successfully")) {
                out.add(d.getKey());
            }
        }));
        return out;
    }

    @Test
    void holds_postgres_the_migration_job_two_orchestrators_two_namespace_workers_a_dlq_processor_and_observability() {
        assertThat(services().keySet()).containsExactlyInAnyOrder("postgres", "migrate", "orchestrator-1", "orchestrator-2",
                "worker-fulfillment", "worker-inventory", "dlq-processor", "otel-collector", "jaeger", "prometheus");
        JsonNode postgres = services.path("postgres");
        assertThat(postgres.path("image").asText()).startsWith("postgres:16");
        assertThat(postgres.path("volumes").get(0).asText()).endsWith(":/var/lib/postgresql/data");
        String volume = postgres.path("volumes").get(0).asText().split(":")[0];
        assertThat(compose.path("volumes").has(volume)).as("the data volume " + volume + " is a named volume").isTrue();
        for (String ns : List.of("fulfillment", "inventory")) {
            List<String> command = new ArrayList<>();
            services.path("worker-" + ns).path("command").forEach(c -> command.add(c.asText()));
            assertThat(command).containsExactly("--namespace", ns);
        }
        Set<String> observability = new HashSet<>();
        services().forEach((name, s) -> s.path("profiles").forEach(p -> {
            assertThat(p.asText()).isEqualTo("observability");
            observability.add(name);
        }));
        assertThat(observability).containsExactlyInAnyOrder("otel-collector", "jaeger", "prometheus");
    }

    @Test
    void every_service_has_a_health_check_except_the_one_shot_migration() {
        Set<String> oneShot = oneShot();
        assertThat(oneShot).containsExactly("migrate");
        services().forEach((name, s) -> {
            if (oneShot.contains(name)) {
                assertThat(s.has("healthcheck")).as(name + " runs once and exits: no health check").isFalse();
                assertThat(s.path("restart").asText()).as(name + " is not restarted after it exits 0").isEqualTo("no");
            } else {
                assertThat(s.path("healthcheck").path("test").isArray()).as(name + " healthcheck test (exec form)").isTrue();
                assertThat(s.path("healthcheck").path("test").get(0).asText()).isEqualTo("CMD");
                assertThat(s.path("healthcheck").path("disable").asBoolean(false)).as(name).isFalse();
            }
        });
        List<String> migrate = new ArrayList<>();
        services.path("migrate").path("command").forEach(c -> migrate.add(c.asText()));
        assertThat(migrate).containsExactly("migrate");
        assertThat(target(services.path("migrate"))).isEqualTo("orchestrator");
    }

    @Test
    void services_wait_for_health_or_completion_and_ordo_waits_for_the_migration() {
        Set<String> oneShot = oneShot();
        services().forEach((name, s) -> {
            JsonNode deps = s.path("depends_on");
            assertThat(deps.isArray()).as(name + " depends_on uses conditions, not the short list form").isFalse();
            deps.properties().forEach(d -> {
                String condition = d.getValue().path("condition").asText();
                JsonNode dependency = services.path(d.getKey());
                assertThat(dependency.isMissingNode()).as(name + " depends on unknown " + d.getKey()).isFalse();
                switch (condition) {
                    case "service_healthy" -> assertThat(dependency.has("healthcheck"))
                            .as(name + " waits for " + d.getKey() + " to be healthy, so it has a health check").isTrue();
                    case "service_completed_successfully" -> assertThat(oneShot).contains(d.getKey());
                    default -> throw new AssertionError(name + " depends on " + d.getKey() + " with condition '" + condition
                            + "'; use service_healthy or service_completed_successfully");
                }
            });
            if (ordo(s) && !name.equals("migrate")) {
                assertThat(deps.path("migrate").path("condition").asText()).as(name + " starts after the migration")
                        .isEqualTo("service_completed_successfully");
            }
        });
        assertThat(services.path("migrate").path("depends_on").path("postgres").path("condition").asText()).isEqualTo("service_healthy");
    }

    @Test
    void orchestrators_never_migrate_and_every_ordo_service_probes_the_port_it_serves() {
        services().forEach((name, s) -> {
            String target = target(s);
            if (!ordo(s) || name.equals("migrate")) {
                return;
            }
            Map<String, String> env = environment(s);
            String port = switch (target) {
                case "orchestrator" -> {
                    assertThat(env).as(name).containsEntry("ORDO_MIGRATE", "false");
                    yield env.getOrDefault("ORDO_HTTP_PORT", "8080");
                }
                case "dlq-processor" -> env.getOrDefault("ORDO_DLQ_PORT", "8082");
                default -> env.get("ORDO_WORKER_HEALTH_PORT");
            };
            List<String> test = new ArrayList<>();
            s.path("healthcheck").path("test").forEach(t -> test.add(t.asText()));
            assertThat(test).as(name + " health check").containsExactly("CMD", "/app/bin/healthcheck", port, "/health/ready");
            assertThat(env.get("ORDO_DATABASE_URL")).as(name).startsWith("postgres://").contains("@postgres:5432/");
            assertThat(s.path("read_only").asBoolean()).as(name + " runs on a read-only root filesystem").isTrue();
            assertThat(s.path("tmpfs").toString()).as(name + " has a writable /tmp").contains("/tmp");
        });
    }

    @Test
    void every_ordo_image_is_built_from_its_dockerfile_target_under_one_name_scheme() throws IOException {
        Set<String> targets = new HashSet<>();
        Dockerfile.read(Repository.file("Dockerfile")).stages().forEach(s -> targets.add(s.name()));
        Map<String, String> imageTargets = new HashMap<>();
        services().forEach((name, s) -> {
            String image = s.path("image").asText();
            assertThat(image).as(name + " names its image").isNotEmpty();
            if (!s.has("build")) {
                assertThat(image).as(name + ": a third-party image is pinned to a version").contains(":").doesNotEndWith(":latest");
                return;
            }
            assertThat(s.path("build").path("context").asText()).as(name + " build context").isEqualTo(".");
            String target = target(s);
            assertThat(targets).as(name + " builds a Dockerfile target").contains(target);
            assertThat(image).isEqualTo("${ORDO_IMAGE_PREFIX:-ordo}/" + target + ":${ORDO_TAG:-dev}");
            String before = imageTargets.putIfAbsent(image, target);
            assertThat(before == null || before.equals(target)).as(image + " is built from one target").isTrue();
        });
        assertThat(new HashSet<>(imageTargets.values())).containsExactlyInAnyOrderElementsOf(ORDO_TARGETS);
    }

    @Test
    void no_secret_is_written_into_the_file() throws IOException {
        services().forEach((name, s) -> environment(s).forEach((key, value) -> {
            if (SECRET_NAME.matcher(key).matches()) {
                assertThat(value).as(name + " " + key + " comes from the environment (with a documented local default)")
                        .matches(INTERPOLATION);
            }
            Matcher credentials = URL_CREDENTIALS.matcher(value);
            if (credentials.find()) {
                assertThat(credentials.group(1)).as(name + " " + key + ": the password in the URL comes from the environment")
                        .matches(INTERPOLATION);
            }
        }));
        String header = java.nio.file.Files.readString(Repository.file("docker-compose.yml"));
        assertThat(header).as("the local default password is documented").contains("POSTGRES_PASSWORD");
    }

    @Test
    void stop_grace_periods_cover_each_process_drain() {
        services().forEach((name, s) -> {
            String target = target(s);
            if (!ordo(s) || name.equals("migrate")) {
                return;
            }
            Duration grace = DrainTimes.parse(s.path("stop_grace_period").asText("10s"));
            Duration drain = switch (target) {
                case "orchestrator" -> DrainTimes.ORCHESTRATOR;
                case "dlq-processor" -> DrainTimes.DLQ_PROCESSOR;
                default -> DrainTimes.parse(environment(s).get("ORDO_WORKER_SHUTDOWN_GRACE")).plus(DrainTimes.WORKER_AFTER_GRACE);
            };
            assertThat(grace).as(name + " stop_grace_period covers a drain of " + drain).isGreaterThanOrEqualTo(drain);
        });
    }

    @Test
    void the_observability_profile_is_wired_by_environment_and_its_config_files_exist() throws IOException {
        services().forEach((name, s) -> {
            if (ordo(s) && !name.equals("migrate")) {
                Map<String, String> env = environment(s);
                assertThat(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")).as(name).isEqualTo("http://otel-collector:4318");
                assertThat(env.get("OTEL_TRACES_EXPORTER")).as(name + ": off unless asked for").isEqualTo("${OTEL_TRACES_EXPORTER:-none}");
            }
            s.path("volumes").forEach(v -> {
                String source = v.asText().split(":")[0];
                if (source.startsWith("./")) {
                    assertThat(Repository.file(source.substring(2))).as(name + " mounts " + source).exists();
                }
            });
        });
        JsonNode collector = YAML.readTree(Repository.file("deploy/observability/otel-collector.yaml").toFile());
        assertThat(collector.path("receivers").path("otlp").path("protocols").path("http").path("endpoint").asText()).endsWith(":4318");
        String jaeger = collector.path("exporters").path("otlp/jaeger").path("endpoint").asText();
        assertThat(services.has(jaeger.split(":")[0])).as("the collector exports to " + jaeger).isTrue();
        JsonNode prometheus = YAML.readTree(Repository.file("deploy/observability/prometheus.yml").toFile());
        prometheus.path("scrape_configs").forEach(job -> job.path("static_configs").forEach(c -> c.path("targets").forEach(t -> {
            String[] hostPort = t.asText().split(":");
            assertThat(services.has(hostPort[0])).as("Prometheus scrapes " + t.asText()).isTrue();
            assertThat(services.path(hostPort[0]).path("healthcheck").path("test").toString())
                    .as(t.asText() + " is the port that service serves").contains("\"" + hostPort[1] + "\"");
        })));
    }

    @Test
    void docker_compose_accepts_the_file_with_and_without_the_observability_profile() throws Exception {
        List<String> compose = Repository.available("docker-compose", "version") ? List.of("docker-compose")
                : Repository.available("docker", "compose", "version") ? List.of("docker", "compose") : null;
        assumeTrue(compose != null, "neither docker-compose nor the docker compose plugin is installed: the file was not validated by"
                + " docker compose (on Debian: apt-get install docker-compose)");
        List<String> plain = new ArrayList<>(compose);
        plain.addAll(List.of("-f", "docker-compose.yml", "config", "-q"));
        Repository.run(Repository.root(), plain);
        List<String> withProfile = new ArrayList<>(compose);
        withProfile.addAll(List.of("-f", "docker-compose.yml", "--profile", "observability", "config", "-q"));
        Repository.run(Repository.root(), withProfile);
    }
}
