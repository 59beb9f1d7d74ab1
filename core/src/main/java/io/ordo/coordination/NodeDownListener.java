package io.ordo.coordination;

/**
 * Told, on the leader, that the leader has just declared a node down, so that what the node held (leases,
 * claimed messages, locks) can be released. Runs inside the node-monitor duty: pass {@code term} to
 * term-checked SQL like any duty.
 */
@FunctionalInterface
public interface NodeDownListener {
    void nodeDown(String nodeId, long term);
}
