package io.ordo.config;

/**
 * A node that runs an older config version than the latest ({@code ordo.config_drift()}).
 *
 * @param nodeId         the node
 * @param role           orchestrator, worker or dlq
 * @param status         its registry status
 * @param configVersion  the version it reported last
 * @param latestVersion  the latest version
 * @param changesBehind  how many changes it has not applied
 */
public record NodeDrift(String nodeId, String role, String status, long configVersion, long latestVersion, long changesBehind) {
}
