package io.ordo.loadtest.flow;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/** A report says when the ceiling it divides by moved during its runs, and only then. */
class CeilingDriftTest {

    @Test
    void a_ceiling_that_moved_more_than_a_tenth_is_noted_with_both_measurements() {
        // the ceiling of results/2026-12-07-report-session28-4.jsonl
        Ceiling before = new Ceiling(170_000, 50_742);
        Ceiling after = new Ceiling(150_000, 38_952);

        assertThat(before.claimDeleteDrift(after)).isCloseTo(11_790 / 44_847.0, offset(1e-9));
        assertThat(after.claimDeleteDrift(before)).isEqualTo(before.claimDeleteDrift(after));
        assertThat(Ceiling.driftNote(before, after))
                .contains("moved 26%", "50,742 and 38,952 rows/s", "no clear pass or miss");
    }

    @Test
    void a_steady_ceiling_gets_no_note() {
        // results/2026-12-07-report-session28-5.jsonl: 55,833 before, 54,293 after (2.8%)
        assertThat(Ceiling.driftNote(new Ceiling(200_000, 55_833), new Ceiling(200_000, 54_293))).isNull();
        // just under and just over the threshold, 10% of the mean
        assertThat(Ceiling.driftNote(new Ceiling(1, 104.9), new Ceiling(1, 95))).isNull();
        assertThat(Ceiling.driftNote(new Ceiling(1, 105.3), new Ceiling(1, 95))).contains("moved 10%");
    }
}
