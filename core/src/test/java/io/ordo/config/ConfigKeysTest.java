package io.ordo.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Java side of the config registry; no database needed. */
class ConfigKeysTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void raw_file_and_env_values_parse_to_typed_values() {
        assertThat(ConfigKeys.parse("election.interval", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(ConfigKeys.parse("lease.ttl", "2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(ConfigKeys.parse("worker.batch_size", " 50 ")).isEqualTo(50L);
        assertThat(ConfigKeys.parse("log.level", "DEBUG")).isEqualTo("DEBUG");
        assertThat(ConfigKeys.parse("backpressure.fulfillment.shed_below_priority", "-5")).isEqualTo(-5L);
    }

    @Test
    void bad_values_are_refused_with_a_message_naming_the_key_and_what_it_allows() {
        assertThatThrownBy(() -> ConfigKeys.parse("election.interval", "fast"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("config key \"election.interval\" must be a duration (like 250ms, 5s, 2m, 1h) between 100ms and 5m, got \"fast\"")
                .satisfies(e -> assertThat(((InvalidConfigException) e).key()).isEqualTo("election.interval"));
        assertThatThrownBy(() -> ConfigKeys.parse("election.interval", "10m")).hasMessageContaining("between 100ms and 5m");
        assertThatThrownBy(() -> ConfigKeys.parse("worker.batch_size", "0")).hasMessageContaining("an integer between 1 and 10000");
        assertThatThrownBy(() -> ConfigKeys.parse("log.level", "LOUD")).hasMessageContaining("one of TRACE, DEBUG, INFO, WARN, ERROR");
        assertThatThrownBy(() -> ConfigKeys.parse("worker.batchsize", "5"))
                .hasMessageStartingWith("unknown config key \"worker.batchsize\": known keys are ")
                .hasMessageContaining("backpressure.<namespace>.critical");
        assertThatThrownBy(() -> ConfigKeys.parse("backpressure.Not-A-Namespace.warning", "5"))
                .isInstanceOf(InvalidConfigException.class);
    }

    @Test
    void json_values_must_have_the_keys_type() throws Exception {
        ConfigKey batch = ConfigKeys.require("worker.batch_size");
        assertThat(batch.parse("worker.batch_size", JSON.readTree("25"))).isEqualTo(25L);
        assertThatThrownBy(() -> batch.parse("worker.batch_size", JSON.readTree("\"25\""))).hasMessageContaining("got \"25\"");
        assertThatThrownBy(() -> batch.parse("worker.batch_size", JSON.readTree("2.5"))).hasMessageContaining("got 2.5");
        assertThat(batch.toJson(Duration.ofSeconds(5)).toString()).isEqualTo("\"5s\"");
        assertThat(ConfigKey.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    }

    @Test
    void environment_variables_name_keys_including_namespaced_backpressure() {
        Map<String, String> env = Map.of(
                "ORDO_ELECTION_INTERVAL", "2s",
                "ORDO_BACKPRESSURE_ORDER_INTAKE_CRITICAL", "900",
                "ORDO_BACKPRESSURE_FULFILLMENT_SHED_BELOW_PRIORITY", "3",
                "ORDO_DATABASE_URL", "jdbc:postgresql://x/y",
                "PATH", "/bin");

        assertThat(ConfigKeys.fromEnvironment(env)).containsOnly(
                Map.entry("election.interval", "2s"),
                Map.entry("backpressure.order_intake.critical", "900"),
                Map.entry("backpressure.fulfillment.shed_below_priority", "3"));
    }

    @Test
    void cluster_config_takes_defaults_for_keys_not_given_and_for_unmentioned_namespaces() {
        ClusterConfig config = ClusterConfig.of(7, Map.of(
                "election.interval", Duration.ofSeconds(1),
                "backpressure.fulfillment.critical", 500L));

        assertThat(config.version()).isEqualTo(7);
        assertThat(config.electionInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.backpressure("fulfillment")).isEqualTo(new Backpressure(50_000, 500, 0));
        assertThat(config.backpressure("inventory")).isEqualTo(Backpressure.defaults());
        assertThat(ClusterConfig.defaults().logLevel()).isEqualTo("INFO");
    }

    @Test
    void cluster_config_record_refuses_out_of_range_fields() {
        ClusterConfig d = ClusterConfig.defaults();
        assertThatThrownBy(() -> new ClusterConfig(0, d.pollIntervalMin(), d.pollIntervalMax(), d.queueStatsRefreshInterval(),
                0, d.workerBatchSize(), d.leaseTtl(), d.electionInterval(), d.heartbeatInterval(), d.archiveRetentionDays(),
                d.archiveDaysAhead(), d.archiveMaintenanceInterval(), d.logLevel(), Map.of()))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("orchestrator.batch_size");
    }
}
