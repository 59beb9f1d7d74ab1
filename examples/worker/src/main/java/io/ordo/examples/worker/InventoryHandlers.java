package io.ordo.examples.worker;

import io.ordo.worker.StepContext;
import io.ordo.worker.StepHandler;
import io.ordo.worker.StepHandlerProvider;
import io.ordo.worker.StepOutcome;

import java.util.Map;

/**
 * Handlers of the {@code inventory} namespace, for the template {@code examples/templates/inventory_restock.yaml}.
 * The task context is a {@link Restock}: {@code {"sku": "BOOK-1", "target": 100}}.
 */
public final class InventoryHandlers implements StepHandlerProvider {

    /** The task context of a restock. */
    public record Restock(String sku, int target) {
    }

    /** What check_stock hands on. */
    public record Stock(String sku, int onHand, int shortfall) {
    }

    @Override
    public String namespace() {
        return "inventory";
    }

    @Override
    public Map<String, StepHandler> handlers() {
        return Map.of(
                "check_stock", StepHandler.typed(Restock.class, InventoryHandlers::check),
                "order_from_supplier", InventoryHandlers::order,
                "record_stock", InventoryHandlers::record);
    }

    static StepOutcome check(Restock restock, StepContext step) {
        if (restock.sku() == null || restock.target() <= 0) {
            return StepOutcome.fail("a restock needs a sku and a positive target");
        }
        int onHand = Math.floorMod(restock.sku().hashCode(), Math.max(1, restock.target()));
        return StepOutcome.success(new Stock(restock.sku(), onHand, restock.target() - onHand));
    }

    static StepOutcome order(StepContext step) {
        Stock stock = step.parentResult("check_stock", Stock.class);
        return StepOutcome.success(Map.of("purchaseOrder", "PO-" + step.idempotencyKey(), "quantity", stock.shortfall()));
    }

    static StepOutcome record(StepContext step) {
        Restock restock = step.input(Restock.class);
        return StepOutcome.success(Map.of("sku", restock.sku(), "onHand", restock.target()));
    }
}
