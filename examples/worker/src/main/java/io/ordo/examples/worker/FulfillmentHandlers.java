package io.ordo.examples.worker;

import io.ordo.worker.StepContext;
import io.ordo.worker.StepHandler;
import io.ordo.worker.StepHandlerProvider;
import io.ordo.worker.StepOutcome;

import java.util.List;
import java.util.Map;

/**
 * Handlers of the {@code fulfillment} namespace, for the template {@code examples/templates/order_fulfillment.yaml}.
 * They stand in for real services: nothing leaves the process. The task context is an {@link Order}:
 * <pre>{@code {"orderId": "A-1001", "customer": "Ada", "email": "ada@example.com",
 *  "lines": [{"sku": "BOOK-1", "quantity": 2, "priceCents": 1250}]}}</pre>
 */
public final class FulfillmentHandlers implements StepHandlerProvider {

    /** The task context of an order. */
    public record Order(String orderId, String customer, String email, List<Line> lines) {
    }

    /** One line of an order. */
    public record Line(String sku, int quantity, long priceCents) {
    }

    /** What validate_order hands to the steps after it. */
    public record ValidOrder(String orderId, int items, long totalCents) {
    }

    @Override
    public String namespace() {
        return "fulfillment";
    }

    @Override
    public Map<String, StepHandler> handlers() {
        return Map.of(
                "validate_order", StepHandler.typed(Order.class, FulfillmentHandlers::validate),
                "reserve_inventory", FulfillmentHandlers::reserve,
                "charge_payment", FulfillmentHandlers::charge,
                "ship_order", FulfillmentHandlers::ship,
                "notify_customer", FulfillmentHandlers::notifyCustomer);
    }

    static StepOutcome validate(Order order, StepContext step) {
        if (order.orderId() == null || order.orderId().isBlank()) {
            return StepOutcome.fail("the order has no orderId");
        }
        if (order.lines() == null || order.lines().isEmpty()) {
            return StepOutcome.fail("order " + order.orderId() + " has no lines");
        }
        for (Line line : order.lines()) {
            if (line.quantity() <= 0 || line.priceCents() < 0) {
                return StepOutcome.fail("order " + order.orderId() + ": line " + line.sku() + " has a bad quantity or price");
            }
        }
        int items = order.lines().stream().mapToInt(Line::quantity).sum();
        long total = order.lines().stream().mapToLong(l -> l.quantity() * l.priceCents()).sum();
        return StepOutcome.success(new ValidOrder(order.orderId(), items, total));
    }

    static StepOutcome reserve(StepContext step) {
        ValidOrder order = step.parentResult("validate_order", ValidOrder.class);
        // the idempotency key names the reservation, so a repeated attempt finds the one it already made
        return StepOutcome.success(Map.of("reservation", "R-" + step.idempotencyKey(), "items", order.items()));
    }

    static StepOutcome charge(StepContext step) {
        ValidOrder order = step.parentResult("validate_order", ValidOrder.class);
        if (step.attempt() == 1) {
            // the demo's flaky dependency: every first attempt times out, the retry goes through
            return StepOutcome.retry("payment gateway timed out charging order " + order.orderId());
        }
        return StepOutcome.success(Map.of("payment", "P-" + step.idempotencyKey(), "amountCents", order.totalCents(),
                "attempt", step.attempt()));
    }

    static StepOutcome ship(StepContext step) {
        // only direct parents' results are handed over; the order itself is in the task context
        Order order = step.input(Order.class);
        step.progress(0.5, "label printed for order " + order.orderId());
        return StepOutcome.success(Map.of("tracking", "TRK-" + order.orderId(), "carrier", "demo-post",
                "reservation", step.parentResults().get("reserve_inventory").path("reservation").asText()));
    }

    static StepOutcome notifyCustomer(StepContext step) {
        Order order = step.input(Order.class);
        String tracking = step.parentResults().get("ship_order").path("tracking").asText();
        step.progress("told " + order.email() + " that order " + order.orderId() + " ships as " + tracking);
        return StepOutcome.success(Map.of("notified", order.email() == null ? "nobody" : order.email()));
    }
}
