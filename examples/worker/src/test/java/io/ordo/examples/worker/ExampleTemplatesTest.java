package io.ordo.examples.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;
import io.ordo.db.Database;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.queue.QueueListener;
import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import io.ordo.worker.OrdoWorker;
import io.ordo.worker.StepHandlerProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The example templates run end to end on the example handlers, found the way a worker container finds them. */
@ExtendWith(OrdoDatabaseExtension.class)
class ExampleTemplatesTest {
    private static final List<AutoCloseable> open = new ArrayList<>();
    private static TaskClient tasks;

    @BeforeAll
    static void start(TestDatabase db) {
        List<TemplateRegistry.Registered> registered = new TemplateRegistry(db.dsl()).registerDirectory(Path.of("..", "templates"));
        assertThat(registered).extracting(TemplateRegistry.Registered::name).containsExactlyInAnyOrder("order_fulfillment", "restock");
        tasks = new TaskClient(db.dsl());

        Database pool = Database.connect(db.settings().withMaxPoolSize(8).withApplicationName("example"));
        open.add(pool);
        QueueListener listener = new QueueListener(pool);
        open.add(listener);
        Orchestrator orchestrator = Orchestrator.start(pool, OrchestratorSettings.defaults("example-orch"), listener, Clock.systemUTC());
        open.add(() -> orchestrator.stop(Duration.ofSeconds(2)));
        for (StepHandlerProvider provider : ServiceLoader.load(StepHandlerProvider.class)) {
            OrdoWorker worker = OrdoWorker.builder(pool.dataSource()).namespace(provider.namespace()).handlers(provider.handlers())
                    .listener(listener).polling(Duration.ofMillis(20), Duration.ofMillis(200)).build().start();
            open.add(worker);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    @Test
    void an_order_is_validated_reserved_and_charged_in_parallel_shipped_and_notified_with_one_payment_retry() {
        long id = tasks.submit("fulfillment", "order_fulfillment", """
                {"orderId": "A-1001", "customer": "Ada", "email": "ada@example.com",
                 "lines": [{"sku": "BOOK-1", "quantity": 2, "priceCents": 1250}, {"sku": "PEN-7", "quantity": 1, "priceCents": 300}]}""");
        await().atMost(Duration.ofSeconds(20)).until(() -> tasks.get(id).orElseThrow().status().ordinal() >= TaskStatus.COMPLETE.ordinal());

        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).as("task error %s", task.error()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(task.steps()).allSatisfy(s -> assertThat(s.status()).isEqualTo(StepStatus.COMPLETE));
        assertThat(task.step("charge_payment").attempt()).isEqualTo(2);
        assertThat(Json.parse(task.step("charge_payment").lastError()).path("message").asText()).contains("payment gateway timed out");
        JsonNode payment = Json.parse(task.step("charge_payment").result());
        assertThat(payment.path("amountCents").asLong()).isEqualTo(2800);
        JsonNode shipped = Json.parse(task.step("ship_order").result());
        assertThat(shipped.path("tracking").asText()).isEqualTo("TRK-A-1001");
        assertThat(shipped.path("reservation").asText()).isEqualTo("R-" + id + ":reserve_inventory");
        assertThat(Json.parse(task.step("notify_customer").result()).path("notified").asText()).isEqualTo("ada@example.com");
    }

    @Test
    void an_order_without_lines_fails_validation_at_once() {
        long id = tasks.submit("fulfillment", "order_fulfillment", "{\"orderId\": \"A-0\", \"lines\": []}");
        await().atMost(Duration.ofSeconds(20)).until(() -> tasks.get(id).orElseThrow().status() == TaskStatus.FAILED);
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.step("validate_order").attempt()).isEqualTo(1);
        assertThat(task.step("validate_order").lastError()).contains("order A-0 has no lines");
        assertThat(task.step("charge_payment").status()).isEqualTo(StepStatus.CANCELLED);
    }

    @Test
    void a_restock_orders_the_shortfall_and_records_the_new_level() {
        long id = tasks.submit("inventory", "restock", "{\"sku\": \"BOOK-1\", \"target\": 100}");
        await().atMost(Duration.ofSeconds(20)).until(() -> tasks.get(id).orElseThrow().status() == TaskStatus.COMPLETE);
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(Json.parse(task.step("record_stock").result()).path("onHand").asInt()).isEqualTo(100);
        assertThat(Json.parse(task.step("order_from_supplier").result()).path("purchaseOrder").asText())
                .isEqualTo("PO-" + id + ":order_from_supplier");
    }
}
