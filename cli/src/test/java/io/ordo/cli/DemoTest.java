package io.ordo.cli;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OrdoDatabaseExtension.class)
class DemoTest {

    @Test
    void the_demo_runs_sample_orders_end_to_end_over_http_and_exits_cleanly(TestDatabase db) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        String url = db.settings().jdbcUrl();
        int code = Demo.run(new String[]{"--tasks", "12", "--port", "0", "--exit", "--templates",
                        Path.of("..", "examples", "templates").toString()},
                Map.of("ORDO_DATABASE_URL", url), new PrintStream(buffer, true, StandardCharsets.UTF_8));
        String out = buffer.toString(StandardCharsets.UTF_8);

        assertThat(code).as(out).isZero();
        assertThat(out).contains("Template fulfillment/order_fulfillment version 1 registered")
                .contains("curl -s -X POST http://localhost:")
                .contains("Submitted 12 orders over HTTP")
                .contains("Summary: 12 tasks (12 complete, 0 failed)")
                .contains("Workers for namespace fulfillment")
                .as("the benchmark's handlers are on the classpath, but the demo registers no template of theirs")
                .doesNotContain("Workers for namespace bench");
        assertThat(db.dsl().fetchOne("select count(*) from ordo.task where status = 'complete'").get(0, Integer.class)).isEqualTo(12);
        // every order's payment failed once and was retried, as the example gateway does
        assertThat(db.dsl().fetchOne("select count(*) from ordo.step where name = 'charge_payment' and attempt = 2").get(0, Integer.class))
                .isEqualTo(12);
        assertThat(db.dsl().fetchOne("select count(*) from ordo.node where node_id like 'demo-%'").get(0, Integer.class))
                .as("every demo node left the registry when it stopped").isZero();
    }
}
