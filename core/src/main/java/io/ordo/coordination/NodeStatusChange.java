package io.ordo.coordination;

/** The leader moved a node to a new status (published on {@link Coordination#NODE_STATUS_CHANNEL}). */
public record NodeStatusChange(String nodeId, NodeStatus status) {
}
