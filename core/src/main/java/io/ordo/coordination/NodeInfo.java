package io.ordo.coordination;

import io.ordo.InvalidInputException;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a node registers.
 *
 * @param id                 unique in the cluster, {@code ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$}
 * @param role               orchestrator, worker or dlq
 * @param namespaces         the namespaces it serves (workers), possibly empty
 * @param host               where it runs
 * @param version            the Ordo version it runs
 * @param startedAt          when it started
 * @param heartbeatInterval  how often it heartbeats; the leader marks it suspect after 2 missed intervals, down after 3
 * @param metadata           free-form labels
 */
public record NodeInfo(String id, NodeRole role, List<String> namespaces, String host, String version, Instant startedAt,
                       Duration heartbeatInterval, Map<String, String> metadata) {
    private static final Pattern ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$");
    private static final Pattern NAMESPACE = Pattern.compile("^[a-z][a-z0-9_]{0,39}$");

    public NodeInfo {
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidInputException("node id must match " + ID.pattern() + ", got " + id);
        }
        if (role == null || host == null || version == null || startedAt == null) {
            throw new InvalidInputException("node " + id + " needs a role, host, version and start time");
        }
        namespaces = List.copyOf(namespaces == null ? List.of() : namespaces);
        for (String ns : namespaces) {
            if (!NAMESPACE.matcher(ns).matches()) {
                throw new InvalidInputException("node " + id + ": namespace must match " + NAMESPACE.pattern() + ", got " + ns);
            }
        }
        if (heartbeatInterval == null || heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
            throw new InvalidInputException("node " + id + ": heartbeat interval must be positive, got " + heartbeatInterval);
        }
        metadata = Map.copyOf(metadata == null ? Map.of() : metadata);
    }

    public NodeInfo withMetadata(Map<String, String> newMetadata) {
        return new NodeInfo(id, role, namespaces, host, version, startedAt, heartbeatInterval, newMetadata);
    }
}
