package io.ordo.loadtest.chaos;

import io.ordo.loadtest.BenchDatabase;
import io.ordo.loadtest.chaos.ChaosBenchmark.Options;
import io.ordo.loadtest.chaos.ChaosBenchmark.Result;
import io.ordo.loadtest.flow.Shape;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The short version of {@code ./ordo bench chaos}: two orchestrator and two worker processes under a steady load
 * while four faults (SIGKILL and restart, or sessions terminated) hit nodes chosen at random.
 */
@Tag("chaos")
@ExtendWith(OrdoDatabaseExtension.class)
class ChaosTest {

    @Test
    void nodes_killed_or_cut_off_under_load_lose_no_task_and_apply_no_result_twice(TestDatabase db) throws Exception {
        Options options = new Options(20, 4, 2, 2, 40, Shape.CHAIN3, 5, 200, Duration.ofSeconds(3), 20261123L, "chaos",
                Path.of("target", "chaos-test.jsonl"));
        try (BenchDatabase bench = BenchDatabase.open(4, db.settings().jdbcUrl())) {
            Result result = ChaosBenchmark.run(bench, options, System.err);
            ChaosBenchmark.report(result, System.out);

            ChaosBenchmark.Verdict v = result.verdict();
            assertThat(v.unfinished()).as("tasks left unfinished").isZero();
            assertThat(v.appliedTwice()).as("step results applied twice").isZero();
            assertThat(v.completeNotOnce()).as("complete steps not applied exactly once").isZero();
            assertThat(v.unexpected()).as("tasks failed without a planted failure").isZero();
            assertThat(v.plantedDeadLettered()).as("planted failures failed with a dead letter").isEqualTo(v.planted());
            assertThat(v.leftoverMessages()).as("messages left in the queues").isZero();
            assertThat(v.complete() + v.failed()).isEqualTo(v.tasks()).isEqualTo(800);
            assertThat(v.ok()).isTrue();
            assertThat(result.recoveries()).hasSize(4).allSatisfy(r -> assertThat(r.inFlightFinished())
                    .as("the work in flight at round %d finished", r.event().round()).isNotNull()
                    .isLessThan(Duration.ofSeconds(30)));
        }
    }
}
