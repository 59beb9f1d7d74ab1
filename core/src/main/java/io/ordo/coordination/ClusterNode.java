package io.ordo.coordination;

import java.time.Instant;

/**
 * A node as the registry sees it.
 *
 * @param info             what it registered
 * @param status           active, suspect, draining or down
 * @param configVersion    the config version it last reported running
 * @param heartbeatAt      its last heartbeat
 * @param statusChangedAt  when its status last changed
 */
public record ClusterNode(NodeInfo info, NodeStatus status, long configVersion, Instant heartbeatAt, Instant statusChangedAt) {
    public String id() {
        return info.id();
    }
}
