package io.ordo.worker.container;

import io.ordo.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Worker container configuration: no database needed. */
class WorkerConfigTest {
    private static final String URL = "jdbc:postgresql://db:5432/ordo";

    @Test
    void environment_variables_configure_the_worker_and_the_heartbeat_follows_the_visibility_timeout() {
        WorkerConfig config = WorkerConfig.load(List.of(), Map.of("ORDO_DATABASE_URL", URL, "ORDO_WORKER_NAMESPACE", "fulfillment",
                "ORDO_WORKER_CONCURRENCY", "32", "ORDO_WORKER_VISIBILITY_TIMEOUT", "45s", "ORDO_DATABASE_USER", "w",
                "ORDO_DATABASE_PASSWORD", "secret"));
        assertThat(config.worker().namespace()).isEqualTo("fulfillment");
        assertThat(config.worker().concurrency()).isEqualTo(32);
        assertThat(config.worker().visibilityTimeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(config.worker().heartbeatInterval()).isEqualTo(Duration.ofSeconds(15));
        assertThat(config.worker().shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.database().jdbcUrl()).isEqualTo(URL);
        assertThat(config.database().user()).isEqualTo("w");
        assertThat(config.database().password()).isEqualTo("secret");
        assertThat(config.database().applicationName()).isEqualTo("ordo-worker-fulfillment");
    }

    @Test
    void the_command_line_beats_the_environment_which_beats_the_config_file(@TempDir Path dir) throws IOException {
        Path yaml = Files.writeString(dir.resolve("worker.yaml"), """
                database_url: postgres://file:pw@filehost:5432/ordo
                namespace: inventory
                concurrency: 4
                visibility_timeout: 2m
                heartbeat_interval: PT20S
                shutdown_grace: 500ms
                """);
        WorkerConfig config = WorkerConfig.load(List.of("--namespace", "fulfillment", "--config", yaml.toString()),
                Map.of("ORDO_WORKER_CONCURRENCY", "8"));
        assertThat(config.worker().namespace()).isEqualTo("fulfillment");
        assertThat(config.worker().concurrency()).isEqualTo(8);
        assertThat(config.worker().visibilityTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(config.worker().heartbeatInterval()).isEqualTo(Duration.ofSeconds(20));
        assertThat(config.worker().shutdownGrace()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.database().jdbcUrl()).isEqualTo("jdbc:postgresql://filehost:5432/ordo");
        assertThat(config.database().user()).isEqualTo("file");

        Path props = Files.writeString(dir.resolve("worker.properties"), "database_url=" + URL + "\nnamespace=billing\nbatch_size=7\n");
        WorkerConfig fromProperties = WorkerConfig.load(List.of("--concurrency=3"), Map.of("ORDO_WORKER_CONFIG", props.toString()));
        assertThat(fromProperties.worker().namespace()).isEqualTo("billing");
        assertThat(fromProperties.worker().batchSize()).isEqualTo(7);
        assertThat(fromProperties.worker().concurrency()).isEqualTo(3);
    }

    @Test
    void a_bad_value_is_refused_naming_the_key_where_it_came_from_and_what_is_allowed(@TempDir Path dir) throws IOException {
        Map<String, String> base = Map.of("ORDO_DATABASE_URL", URL, "ORDO_WORKER_NAMESPACE", "fulfillment");
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), Map.of("ORDO_WORKER_NAMESPACE", "fulfillment")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("ORDO_DATABASE_URL");
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), Map.of("ORDO_DATABASE_URL", URL)))
                .hasMessageContaining("--namespace").hasMessageContaining("ORDO_WORKER_NAMESPACE");
        assertThatThrownBy(() -> WorkerConfig.load(List.of("--concurrency", "0"), base))
                .hasMessage("concurrency must be between 1 and 10000, got 0 (from --concurrency)");
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), with(base, "ORDO_WORKER_VISIBILITY_TIMEOUT", "soon")))
                .hasMessage("visibility_timeout must be a duration like 500ms, 30s, 5m, 1h or PT30S, got 'soon'"
                        + " (from ORDO_WORKER_VISIBILITY_TIMEOUT)");
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), with(base, "ORDO_WORKER_HEARTBEAT_INTERVAL", "1m")))
                .hasMessageContaining("heartbeat_interval (PT1M) must be shorter than visibility_timeout (PT30S)");
        assertThatThrownBy(() -> WorkerConfig.load(List.of("--namespace", "Bad-Name"), base))
                .hasMessageContaining("namespace must match").hasMessageContaining("(from --namespace)");
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), with(base, "ORDO_DATABASE_URL", "mysql://x")))
                .hasMessageContaining("must start with jdbc:postgresql:").hasMessageContaining("(from ORDO_DATABASE_URL)");
        assertThatThrownBy(() -> WorkerConfig.load(List.of("--threads", "4"), base))
                .hasMessageContaining("unknown option --threads");
        Path typo = Files.writeString(dir.resolve("typo.yaml"), "concurency: 4\n");
        assertThatThrownBy(() -> WorkerConfig.load(List.of("--config", typo.toString()), base))
                .hasMessageContaining("unknown key 'concurency'");
        Path ini = Files.writeString(dir.resolve("worker.ini"), "x=1\n");
        assertThatThrownBy(() -> WorkerConfig.load(List.of("--config", ini.toString()), base))
                .hasMessageContaining("must end in .properties, .yaml or .yml");
    }

    @Test
    void the_health_port_is_off_unless_configured_and_a_bad_one_is_refused_naming_its_source() {
        Map<String, String> base = Map.of("ORDO_DATABASE_URL", URL, "ORDO_WORKER_NAMESPACE", "fulfillment");
        assertThat(WorkerConfig.load(List.of(), base).healthPort()).isEqualTo(-1);
        assertThat(WorkerConfig.load(List.of(), with(base, "ORDO_WORKER_HEALTH_PORT", "8081")).healthPort()).isEqualTo(8081);
        assertThatThrownBy(() -> WorkerConfig.load(List.of(), with(base, "ORDO_WORKER_HEALTH_PORT", "70000")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("health_port").hasMessageContaining("ORDO_WORKER_HEALTH_PORT");
    }

    @Test
    void a_container_without_handlers_for_its_namespace_exits_with_a_clear_error() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = WorkerMain.run(List.of("--namespace", "nobody_serves_this"), Map.of("ORDO_DATABASE_URL", URL),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("no io.ordo.worker.StepHandlerProvider on the classpath serves namespace nobody_serves_this");
        assertThat(WorkerMain.run(List.of("--namespace", "x", "--concurrency", "-1"), Map.of("ORDO_DATABASE_URL", URL),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))).isEqualTo(2);
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        var copy = new java.util.HashMap<>(base);
        copy.put(key, value);
        return copy;
    }
}
