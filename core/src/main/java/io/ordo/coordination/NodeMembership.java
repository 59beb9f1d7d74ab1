package io.ordo.coordination;

import io.ordo.OrdoException;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * This node's place in the registry: registers it, heartbeats every {@link NodeInfo#heartbeatInterval()}
 * with the config version it runs (one statement per beat), and on {@link #close()} drains and leaves.
 * A node the cluster declared down (say, after a long pause) registers again on its next beat.
 */
public final class NodeMembership implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NodeMembership.class.getName());

    private final Coordination coordination;
    private final NodeInfo info;
    private final LongSupplier configVersion;
    private final Object wake = new Object();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile NodeStatus status = NodeStatus.ACTIVE;

    private NodeMembership(Coordination coordination, NodeInfo info, LongSupplier configVersion) {
        this.coordination = coordination;
        this.info = info;
        this.configVersion = configVersion;
        coordination.register(info, configVersion.getAsLong());
        this.thread = Thread.ofVirtual().name("ordo-heartbeat-" + info.id()).start(this::loop);
    }

    /** Registers the node and starts heartbeating. */
    public static NodeMembership join(Coordination coordination, NodeInfo info, LongSupplier configVersion) {
        return new NodeMembership(coordination, info, configVersion);
    }

    public NodeInfo info() {
        return info;
    }

    /** The status the last heartbeat returned. */
    public NodeStatus status() {
        return status;
    }

    /** Beats now instead of at the next interval, for example to report a config version just applied. */
    public void heartbeatNow() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /** Marks the node draining; it keeps beating until {@link #close()}. */
    public void drain() {
        coordination.drain(info.id());
        status = NodeStatus.DRAINING;
    }

    private void loop() {
        while (running) {
            synchronized (wake) {
                if (!running) {
                    return;
                }
                try {
                    wake.wait(info.heartbeatInterval().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (!running) {
                return;
            }
            beat();
        }
    }

    private void beat() {
        try {
            NodeStatus s = coordination.heartbeat(info.id(), configVersion.getAsLong());
            if (s == NodeStatus.DOWN && status != NodeStatus.DRAINING) {
                LOG.log(System.Logger.Level.WARNING, "node " + info.id() + " was declared down; registering again");
                coordination.register(info, configVersion.getAsLong());
                s = NodeStatus.ACTIVE;
            }
            status = s;
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "heartbeat of node " + info.id() + " failed: " + e.getMessage());
        }
    }

    /**
     * Stops heartbeating without draining or leaving the registry, as a crash would: the leader marks the node
     * suspect, then down. For tests and chaos scenarios.
     */
    public void abandon() {
        running = false;
        thread.interrupt();
    }

    /** Stops heartbeating, marks the node draining, then removes it from the registry. */
    @Override
    public void close() {
        running = false;
        heartbeatNow();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            coordination.drain(info.id());
            coordination.deregister(info.id());
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "node " + info.id() + " could not leave the registry: " + e.getMessage());
        }
        status = NodeStatus.DOWN;
    }
}
