package io.ordo.orchestrator;

import io.ordo.InvalidInputException;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code ordo token create} and the settings of {@code ordo server}. */
@ExtendWith(OrdoDatabaseExtension.class)
class CommandLineTest {

    @Test
    void token_create_prints_a_working_token_once_and_stores_only_its_hash(TestDatabase db) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = TokenCommand.run(new String[]{"create", "--role", "operator", "--name", "ci-deployer"},
                Map.of("ORDO_DATABASE_URL", db.settings().jdbcUrl()), new PrintStream(out), new PrintStream(err));
        assertThat(code).as(err.toString()).isZero();
        String secret = out.toString().trim();
        assertThat(secret).startsWith("ordo_").hasSizeGreaterThan(40);
        assertThat(err.toString()).contains("ci-deployer").contains("operator").doesNotContain(secret);
        var principal = new ApiTokens(db.dsl(), Clock.systemUTC()).verify(secret);
        assertThat(principal).hasValueSatisfying(p -> assertThat(p.role()).isEqualTo(Role.OPERATOR));
        assertThat(db.dsl().fetch("select * from ordo.api_token").formatCSV()).doesNotContain(secret);
    }

    @Test
    void token_create_refuses_bad_arguments_with_exit_code_2_and_creates_nothing(TestDatabase db) {
        Map<String, String> env = Map.of("ORDO_DATABASE_URL", db.settings().jdbcUrl());
        long before = db.dsl().fetchOne("select count(*) from ordo.api_token").get(0, Long.class);
        for (String[] args : new String[][]{{}, {"create"}, {"create", "--role", "root"}, {"create", "--role"},
                {"create", "--role", "reader", "--name", "bad name; drop"}, {"delete"}}) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            assertThat(TokenCommand.run(args, env, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)))
                    .as(String.join(" ", args)).isEqualTo(2);
            assertThat(err.toString()).startsWith("ordo token: ");
        }
        assertThat(db.dsl().fetchOne("select count(*) from ordo.api_token").get(0, Long.class)).isEqualTo(before);
    }

    @Test
    void server_settings_come_from_flags_over_the_environment_and_bad_values_are_refused_naming_them(TestDatabase db) {
        ServerSettings s = ServerSettings.parse(new String[]{"--port", "9090"}, Map.of("ORDO_HTTP_PORT", "7070",
                "ORDO_NODE_ID", "orch-1", "ORDO_ELECTION_INTERVAL", "2s", "ORDO_HTTP_OPEN_OBSERVABILITY", "false"));
        assertThat(s.http().port()).isEqualTo(9090);
        assertThat(s.nodeId()).isEqualTo("orch-1");
        assertThat(s.configValues()).containsEntry("election.interval", "2s");
        assertThat(s.http().observabilityOpen()).isFalse();
        assertThat(s.databaseUrl()).isNull();
        assertThat(s.embeddedDataDir()).isEqualTo(Path.of(System.getProperty("user.home"), ".ordo", "pg"));
        assertThat(ServerSettings.parse(new String[0], Map.of()).http().port()).isEqualTo(8080);
        assertThat(ServerSettings.parse(new String[0], Map.of()).liveTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThatThrownBy(() -> ServerSettings.parse(new String[]{"--port", "http"}, Map.of()))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("--port");
        assertThatThrownBy(() -> ServerSettings.parse(new String[0], Map.of("ORDO_HTTP_PORT", "70000")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("ORDO_HTTP_PORT");
        assertThatThrownBy(() -> ServerSettings.parse(new String[]{"--templates", "/no/such/dir"}, Map.of()))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("/no/such/dir");
        assertThatThrownBy(() -> ServerSettings.parse(new String[0], Map.of("ORDO_HTTP_TLS_KEYSTORE", "/no/such.p12")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("ORDO_HTTP_TLS_KEYSTORE");
        assertThatThrownBy(() -> ServerSettings.parse(new String[]{"--verbose"}, Map.of()))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("--verbose");
    }

    @Test
    void the_server_migrates_at_start_unless_a_migration_job_does_it() {
        assertThat(ServerSettings.parse(new String[0], Map.of()).migrate()).isTrue();
        assertThat(ServerSettings.parse(new String[0], Map.of("ORDO_MIGRATE", "false")).migrate()).isFalse();
        assertThatThrownBy(() -> ServerSettings.parse(new String[0], Map.of("ORDO_MIGRATE", "later")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("ORDO_MIGRATE");
    }
}
