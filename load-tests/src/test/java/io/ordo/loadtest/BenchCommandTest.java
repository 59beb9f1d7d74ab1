package io.ordo.loadtest;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The dispatcher and option checks answer before any database is opened. */
class BenchCommandTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream originalOut;
    private PrintStream originalErr;

    @BeforeEach
    void capture() {
        originalOut = System.out;
        originalErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(originalOut);
        System.setErr(originalErr);
    }

    @Test
    void help_lists_the_scenarios_and_succeeds() throws Exception {
        assertThat(BenchCommand.run(new String[] {"--help"})).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("queue");
    }

    @Test
    void unknown_scenario_is_refused_with_exit_code_2_and_the_known_ones() throws Exception {
        assertThat(BenchCommand.run(new String[] {"nope"})).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown scenario 'nope'").contains("queue");
    }

    @Test
    void no_scenario_prints_usage_and_exits_2() throws Exception {
        assertThat(BenchCommand.run(new String[0])).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("usage");
    }

    @Test
    void queue_options_that_are_out_of_range_or_unknown_name_the_option() throws Exception {
        assertThat(BenchCommand.run(new String[] {"queue", "--threads", "0"})).isEqualTo(2);
        assertThat(BenchCommand.run(new String[] {"queue", "--ops", "send,teleport"})).isEqualTo(2);
        assertThat(BenchCommand.run(new String[] {"queue", "--seconds"})).isEqualTo(2);
        assertThat(BenchCommand.run(new String[] {"queue", "--impls", "rust"})).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("--threads must be between 1 and 256, got 0")
                .contains("unknown operation 'teleport'")
                .contains("--seconds")
                .contains("unknown implementation 'rust'");
    }

    @Test
    void queue_help_describes_the_options() throws Exception {
        assertThat(BenchCommand.run(new String[] {"queue", "--help"})).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--seconds").contains("--threads").contains("ORDO_DATABASE_URL");
    }
}
