package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.config.ConfigStore;
import io.ordo.config.NodeDrift;
import io.ordo.coordination.ClusterNode;
import io.ordo.coordination.Coordination;
import io.ordo.coordination.Leadership;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code GET /v1/cluster}: the leader and its term, every registered node with its status and the config version
 * it runs, the latest config version and the nodes that lag behind it.
 */
public final class ClusterService implements HttpService {
    private final Access access;
    private final Coordination coordination;
    private final ConfigStore config;
    private final String nodeId;

    public ClusterService(Access access, Coordination coordination, ConfigStore config, String nodeId) {
        this.access = access;
        this.coordination = coordination;
        this.config = config;
        this.nodeId = nodeId;
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Node(String id, String role, String status, List<String> namespaces, String host, String version, Instant startedAt,
                Instant heartbeatAt, Instant statusChangedAt, long configVersion, boolean leader, Map<String, String> metadata) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Leader(String nodeId, long term, Instant since) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Cluster(String thisNode, Leader leader, List<Node> nodes, long latestConfigVersion, List<NodeDrift> configDrift) {
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.require(Role.READER, this::get));
    }

    private void get(ServerRequest req, ServerResponse res) {
        Leadership leadership = coordination.leader().orElse(null);
        List<Node> nodes = coordination.nodes().stream().map(n -> node(n, leadership)).toList();
        Leader leader = leadership == null ? null : new Leader(leadership.nodeId(), leadership.term(), leadership.since());
        Responses.ok(res, new Cluster(nodeId, leader, nodes, config.latestVersion(), config.drift()));
    }

    private static Node node(ClusterNode n, Leadership leadership) {
        var info = n.info();
        return new Node(info.id(), info.role().name().toLowerCase(Locale.ROOT), n.status().name().toLowerCase(Locale.ROOT),
                info.namespaces(), info.host(), info.version(), info.startedAt(), n.heartbeatAt(), n.statusChangedAt(),
                n.configVersion(), leadership != null && leadership.nodeId().equals(info.id()), info.metadata());
    }
}
