package io.ordo.dlq;

import io.ordo.InvalidInputException;
import io.ordo.config.ConfigKeys;
import io.ordo.config.InvalidConfigException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Classification rules and the policy built from config values; no database needed. */
class ClassificationRulesTest {

    @Test
    void the_built_in_rules_know_ordos_own_error_classes() {
        ClassificationRules rules = ClassificationRules.DEFAULT;
        assertThat(rules.classify("StepTimeout", "attempts_exhausted").classification()).isEqualTo(Classification.TRANSIENT);
        assertThat(rules.classify("WorkerLost", "permanent_failure").classification()).isEqualTo(Classification.PERMANENT);
        assertThat(rules.classify("UnknownHandler", "permanent_failure").classification()).isEqualTo(Classification.PERMANENT);
        assertThat(rules.classify("UnprocessableMessage", "malformed orchestration message").classification())
                .isEqualTo(Classification.PERMANENT);
        assertThat(rules.classify("java.net.SocketTimeoutException", "attempts_exhausted").classification()).isEqualTo(Classification.TRANSIENT);
        assertThat(rules.classify("java.io.IOException", "attempts_exhausted").classification()).isEqualTo(Classification.TRANSIENT);
        ClassificationRules.Decision none = rules.classify("com.example.Surprise", "attempts_exhausted");
        assertThat(none.classification()).isEqualTo(Classification.UNKNOWN);
        assertThat(none.rule()).isNull();
        assertThat(rules.classify(null, "attempts_exhausted").classification()).isEqualTo(Classification.UNKNOWN);
    }

    @Test
    void configured_rules_come_first_and_the_first_match_wins() {
        ClassificationRules rules = ClassificationRules.parse("""
                [{"match": "com.example.Surprise", "as": "transient"},
                 {"match": "java.io.*", "reason": "attempts_exhausted", "as": "permanent"},
                 {"match": "*", "as": "unknown"}]""").then(ClassificationRules.DEFAULT);
        assertThat(rules.classify("com.example.Surprise", "attempts_exhausted").classification()).isEqualTo(Classification.TRANSIENT);
        assertThat(rules.classify("java.io.IOException", "attempts_exhausted").classification()).isEqualTo(Classification.PERMANENT);
        assertThat(rules.classify("java.io.IOException", "permanent_failure").rule().match()).isEqualTo("*");
        assertThat(rules.classify("a.b.C$Inner", "x").classification()).isEqualTo(Classification.UNKNOWN);
        assertThat(rules.classify("java.io.IOException", "attempts_exhausted").rule().reason()).isEqualTo("attempts_exhausted");
    }

    @Test
    void a_glob_matches_only_what_it_says() {
        ClassificationRules rules = ClassificationRules.parse("[{\"match\": \"java.net.*Exception\", \"as\": \"transient\"}]");
        assertThat(rules.classify("java.net.ConnectException", null).classification()).isEqualTo(Classification.TRANSIENT);
        assertThat(rules.classify("java.netty.ConnectException", null).classification()).isEqualTo(Classification.UNKNOWN);
        assertThat(rules.classify("java.net.ConnectError", null).classification()).isEqualTo(Classification.UNKNOWN);
    }

    @Test
    void malformed_rules_are_refused_with_what_is_wrong() {
        assertThatThrownBy(() -> ClassificationRules.parse("{")).isInstanceOf(InvalidInputException.class).hasMessageContaining("dlq.rules");
        assertThatThrownBy(() -> ClassificationRules.parse("{}")).hasMessageContaining("must be a JSON array");
        assertThatThrownBy(() -> ClassificationRules.parse("[{\"match\": \"X\"}]")).hasMessageContaining("needs \"as\"");
        assertThatThrownBy(() -> ClassificationRules.parse("[{\"match\": \"X\", \"as\": \"maybe\"}]"))
                .hasMessageContaining("transient, permanent or unknown");
        assertThatThrownBy(() -> ClassificationRules.parse("[{\"match\": \"has space\", \"as\": \"unknown\"}]"))
                .hasMessageContaining("\"match\"");
        assertThatThrownBy(() -> ClassificationRules.parse("[{\"match\": \"X\", \"as\": \"unknown\", \"when\": 1}]"))
                .hasMessageContaining("unknown field 'when'");
    }

    @Test
    void the_policy_takes_defaults_from_the_registry_and_namespace_thresholds_override_global_ones() {
        DlqPolicy defaults = DlqPolicy.defaults();
        assertThat(defaults.batchSize()).isEqualTo(100);
        assertThat(defaults.autoRequeueMax()).isZero();
        assertThat(defaults.retention()).isEqualTo(Duration.ofDays(30));
        assertThat(defaults.webhook()).isNull();
        assertThat(defaults.rules().rules()).isEqualTo(ClassificationRules.DEFAULT.rules());

        DlqPolicy p = DlqPolicy.of(7, Map.of(ConfigKeys.DLQ_ALERT_RATE, 50L, "dlq.alert.payments.count", 3L,
                ConfigKeys.DLQ_ALERT_WEBHOOK, "https://hooks.example/ordo", ConfigKeys.DLQ_RULES,
                "[{\"match\": \"X\", \"as\": \"transient\"}]"));
        assertThat(p.thresholds("payments")).isEqualTo(new DlqPolicy.Thresholds(50, 3));
        assertThat(p.thresholds("shipping")).isEqualTo(new DlqPolicy.Thresholds(50, 1000));
        assertThat(p.webhook()).hasToString("https://hooks.example/ordo");
        assertThat(p.rules().rules().getFirst().match()).isEqualTo("X");
        assertThat(p.configVersion()).isEqualTo(7);

        assertThatThrownBy(() -> DlqPolicy.of(8, Map.of(ConfigKeys.DLQ_RULES, "not json")))
                .isInstanceOf(InvalidConfigException.class).satisfies(e -> assertThat(((InvalidConfigException) e).key()).isEqualTo("dlq.rules"));
        assertThatThrownBy(() -> DlqPolicy.of(8, Map.of(ConfigKeys.DLQ_ALERT_WEBHOOK, "ftp://files")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("dlq.alert.webhook");
        assertThatThrownBy(() -> DlqPolicy.of(8, Map.of(ConfigKeys.DLQ_BATCH_SIZE, 0L))).hasMessageContaining("dlq.batch_size");
    }
}
