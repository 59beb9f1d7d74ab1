package io.ordo.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.ordo.deploy.RenderedManifests.Workload;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Kubernetes manifests (k8s/) render with {@code kubectl kustomize}, every object matches the Kubernetes model
 * exactly, and the rendered objects keep the rules of a safe deployment: probes, resources, a restricted security
 * context, one image set, existing ConfigMap keys and only referenced Secrets, prod's replicas and rolling update,
 * disruption budgets that select their pods, and grace periods that cover each process's drain.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class KubernetesManifestsTest {
    private static final Pattern IMAGE = Pattern.compile("^(.+)/(orchestrator|dlq-processor|example-worker):([A-Za-z0-9_.-]+)$");
    private static final Pattern WORKER = Pattern.compile("^ordo-worker-([a-z][a-z0-9_]*)$");
    private static final Map<String, RenderedManifests> RENDERED = new LinkedHashMap<>();

    @BeforeAll
    static void render() throws IOException, InterruptedException {
        assumeTrue(Repository.available("kubectl", "version", "--client"),
                "kubectl is not installed: the Kubernetes manifests cannot be rendered here (install kubectl to run these tests)");
        for (String overlay : List.of("dev", "prod")) {
            RENDERED.put(overlay, RenderedManifests.render(Repository.file("k8s/overlays/" + overlay)));
        }
        // the KEDA component as the k8s README says to use it: added to an overlay
        Path kedaOverlay = Repository.file("deploy-tests/target/prod-with-keda");
        Files.createDirectories(kedaOverlay);
        Files.writeString(kedaOverlay.resolve("kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namespace: ordo
                resources:
                  - ../../../k8s/overlays/prod
                components:
                  - ../../../k8s/components/keda
                """);
        RENDERED.put("prod-with-keda", RenderedManifests.render(kedaOverlay));
    }

    static Stream<String> overlays() {
        return Stream.of("dev", "prod", "prod-with-keda");
    }

    @Test
    void the_strict_parser_refuses_a_field_the_kubernetes_model_does_not_know() {
        String typo = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  replica: 3
                  selector: {matchLabels: {a: b}}
                  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
                """;
        assertThatThrownBy(() -> RenderedManifests.parse("typo", typo))
                .hasMessageContaining("does not match the Kubernetes model").hasMessageContaining("replica");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void renders_every_component_into_one_namespace_with_no_secret_in_it(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        assertThat(m.all(Deployment.class)).extracting(d -> d.getMetadata().getName()).containsExactlyInAnyOrder(
                "ordo-orchestrator", "ordo-dlq-processor", "ordo-worker-fulfillment", "ordo-worker-inventory");
        assertThat(m.all(Job.class)).extracting(j -> j.getMetadata().getName()).containsExactly("ordo-migrate");
        assertThat(m.all(Secret.class)).as("secrets are created by the operator, never kept in the repository").isEmpty();
        List<Namespace> namespaces = m.all(Namespace.class);
        assertThat(namespaces).hasSize(1);
        String ns = namespaces.getFirst().getMetadata().getName();
        assertThat(namespaces.getFirst().getMetadata().getLabels()).containsEntry("pod-security.kubernetes.io/enforce", "restricted");
        for (HasMetadata o : m.objects()) {
            if (!(o instanceof Namespace)) {
                assertThat(o.getMetadata().getNamespace()).as(o.getKind() + " " + o.getMetadata().getName()).isEqualTo(ns);
            }
        }
        for (JsonNode c : m.customResources()) {
            assertThat(c.path("metadata").path("namespace").asText()).as(c.path("kind").asText()).isEqualTo(ns);
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void every_long_running_container_has_liveness_and_readiness_probes_on_its_health_endpoints(String overlay) {
        for (Deployment d : RENDERED.get(overlay).all(Deployment.class)) {
            for (Container c : d.getSpec().getTemplate().getSpec().getContainers()) {
                String where = d.getMetadata().getName() + "/" + c.getName();
                assertProbe(where + " liveness", c, c.getLivenessProbe(), "/health/live");
                assertProbe(where + " readiness", c, c.getReadinessProbe(), "/health/ready");
                assertProbe(where + " startup", c, c.getStartupProbe(), "/health/live");
            }
        }
    }

    private static void assertProbe(String where, Container c, Probe probe, String path) {
        assertThat(probe).as(where).isNotNull();
        assertThat(probe.getHttpGet()).as(where + " httpGet").isNotNull();
        assertThat(probe.getHttpGet().getPath()).as(where + " path").isEqualTo(path);
        assertThat(declaresPort(c, probe.getHttpGet().getPort())).as(where + " probes a port the container declares").isTrue();
    }

    private static boolean declaresPort(Container c, IntOrString port) {
        List<ContainerPort> ports = c.getPorts() == null ? List.of() : c.getPorts();
        return port.getStrVal() != null ? ports.stream().anyMatch(p -> port.getStrVal().equals(p.getName()))
                : ports.stream().anyMatch(p -> Objects.equals(port.getIntVal(), p.getContainerPort()));
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void every_container_has_cpu_and_memory_requests_and_limits(String overlay) {
        for (Workload w : RENDERED.get(overlay).workloads()) {
            for (Container c : allContainers(w.template().getSpec())) {
                String where = w + "/" + c.getName();
                assertThat(c.getResources()).as(where).isNotNull();
                Map<String, Quantity> requests = c.getResources().getRequests();
                Map<String, Quantity> limits = c.getResources().getLimits();
                assertThat(requests).as(where + " requests").containsKeys("cpu", "memory");
                assertThat(limits).as(where + " limits").containsKeys("cpu", "memory");
                for (String r : List.of("cpu", "memory")) {
                    assertThat(Quantity.getAmountInBytes(limits.get(r)))
                            .as(where + " " + r + " limit is at least its request")
                            .isGreaterThanOrEqualTo(Quantity.getAmountInBytes(requests.get(r)));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void every_container_runs_restricted_with_a_read_only_root_and_a_writable_tmp(String overlay) {
        for (Workload w : RENDERED.get(overlay).workloads()) {
            PodSpec pod = w.template().getSpec();
            PodSecurityContext podSecurity = pod.getSecurityContext();
            assertThat(podSecurity).as(w + " pod securityContext").isNotNull();
            assertThat(pod.getHostNetwork()).as(w + " hostNetwork").isNotEqualTo(Boolean.TRUE);
            assertThat(pod.getHostPID()).as(w + " hostPID").isNotEqualTo(Boolean.TRUE);
            for (Container c : allContainers(pod)) {
                String where = w + "/" + c.getName();
                SecurityContext s = c.getSecurityContext();
                assertThat(s).as(where + " securityContext").isNotNull();
                assertThat(s.getAllowPrivilegeEscalation()).as(where + " allowPrivilegeEscalation").isFalse();
                assertThat(s.getReadOnlyRootFilesystem()).as(where + " readOnlyRootFilesystem").isTrue();
                assertThat(s.getPrivileged()).as(where + " privileged").isNotEqualTo(Boolean.TRUE);
                assertThat(s.getCapabilities()).as(where + " capabilities").isNotNull();
                assertThat(s.getCapabilities().getDrop()).as(where + " drops every capability").contains("ALL");
                assertThat(s.getCapabilities().getAdd()).as(where + " adds no capability").isNullOrEmpty();
                Boolean nonRoot = s.getRunAsNonRoot() != null ? s.getRunAsNonRoot() : podSecurity.getRunAsNonRoot();
                assertThat(nonRoot).as(where + " runAsNonRoot").isTrue();
                Long user = s.getRunAsUser() != null ? s.getRunAsUser() : podSecurity.getRunAsUser();
                assertThat(user).as(where + " runs as the images' user").isEqualTo(10001L);
                String seccomp = s.getSeccompProfile() != null ? s.getSeccompProfile().getType()
                        : podSecurity.getSeccompProfile() == null ? null : podSecurity.getSeccompProfile().getType();
                assertThat(seccomp).as(where + " seccompProfile").isEqualTo("RuntimeDefault");
                VolumeMount tmp = c.getVolumeMounts() == null ? null
                        : c.getVolumeMounts().stream().filter(v -> v.getMountPath().equals("/tmp")).findFirst().orElse(null);
                assertThat(tmp).as(where + " mounts a volume at /tmp").isNotNull();
                assertThat(pod.getVolumes()).as(where + " /tmp is an emptyDir")
                        .anyMatch(v -> v.getName().equals(tmp.getName()) && v.getEmptyDir() != null);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void every_workload_runs_one_consistent_image_set_at_a_fixed_tag(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        Set<String> prefixes = new HashSet<>();
        Set<String> tags = new HashSet<>();
        Map<String, String> expected = Map.of("ordo-orchestrator", "orchestrator", "ordo-migrate", "orchestrator",
                "ordo-dlq-processor", "dlq-processor", "ordo-worker-fulfillment", "example-worker",
                "ordo-worker-inventory", "example-worker");
        for (Workload w : m.workloads()) {
            for (Container c : allContainers(w.template().getSpec())) {
                Matcher image = IMAGE.matcher(c.getImage());
                assertThat(image.matches()).as(w + " image " + c.getImage() + " is one of Ordo's images with a tag").isTrue();
                assertThat(image.group(2)).as(w + " image").isEqualTo(expected.get(w.name()));
                assertThat(image.group(3)).as(w + " tag").isNotEqualTo("latest");
                prefixes.add(image.group(1));
                tags.add(image.group(3));
                assertThat(c.getImagePullPolicy()).as(w + " imagePullPolicy").isNotEqualTo("Never");
            }
        }
        assertThat(prefixes).as("one registry and repository prefix for every image").hasSize(1);
        assertThat(tags).as("one version of every image").hasSize(1);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void settings_come_from_existing_config_map_keys_and_credentials_from_referenced_secrets(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        for (Workload w : m.workloads()) {
            for (Container c : allContainers(w.template().getSpec())) {
                for (EnvVar e : c.getEnv()) {
                    String where = w + "/" + c.getName() + " " + e.getName();
                    assertThat(e.getValue()).as(where + " is set from a ConfigMap, a Secret or the pod, not inline").isNull();
                    var from = e.getValueFrom();
                    assertThat(from).as(where).isNotNull();
                    if (from.getConfigMapKeyRef() != null) {
                        configValue(m, from.getConfigMapKeyRef().getName(), from.getConfigMapKeyRef().getKey(), where);
                    } else if (from.getSecretKeyRef() != null) {
                        String secret = from.getSecretKeyRef().getName();
                        String key = from.getSecretKeyRef().getKey();
                        assertThat(from.getSecretKeyRef().getOptional()).as(where + " secret is required").isNotEqualTo(Boolean.TRUE);
                        Matcher worker = WORKER.matcher(w.name());
                        if (worker.matches()) {
                            assertThat(secret + "/" + key).as(where + ": a worker logs in with its namespace's role only")
                                    .isEqualTo("ordo-worker-" + worker.group(1) + "-database/url");
                            assertThat(c.getArgs()).as(w + " args").containsExactly("--namespace", worker.group(1));
                        } else if (w.kind().equals("Job")) {
                            assertThat(secret + "/" + key).as(where).isEqualTo("ordo-database/migrate-url");
                        } else {
                            assertThat(secret + "/" + key).as(where).isEqualTo("ordo-database/url");
                        }
                    } else {
                        assertThat(from.getFieldRef()).as(where).isNotNull();
                    }
                }
            }
        }
    }

    private static String configValue(RenderedManifests m, String configMap, String key, String where) {
        ConfigMap cm = m.all(ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals(configMap)).findFirst()
                .orElseThrow(() -> new AssertionError(where + ": ConfigMap " + configMap + " is not among the rendered objects"));
        assertThat(cm.getData()).as(where + ": key " + key + " of ConfigMap " + configMap).containsKey(key);
        return cm.getData().get(key);
    }

    @Test
    void prod_runs_three_orchestrators_rolled_one_at_a_time_and_two_dlq_processors() {
        for (String overlay : List.of("prod", "prod-with-keda")) {
            RenderedManifests m = RENDERED.get(overlay);
            Deployment orchestrator = m.one(Deployment.class, "ordo-orchestrator");
            assertThat(orchestrator.getSpec().getReplicas()).isEqualTo(3);
            assertThat(orchestrator.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
            assertThat(orchestrator.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable()).isEqualTo(new IntOrString(1));
            assertThat(m.one(Deployment.class, "ordo-dlq-processor").getSpec().getReplicas()).isEqualTo(2);
        }
        Deployment devOrchestrator = RENDERED.get("dev").one(Deployment.class, "ordo-orchestrator");
        assertThat(devOrchestrator.getSpec().getReplicas()).isEqualTo(1);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void the_orchestrators_wait_for_the_migration_job_and_never_migrate_themselves(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        Job migrate = m.one(Job.class, "ordo-migrate");
        assertThat(migrate.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs()).containsExactly("migrate");
        assertThat(migrate.getSpec().getTemplate().getSpec().getRestartPolicy()).isIn("OnFailure", "Never");
        Container orchestrator = m.one(Deployment.class, "ordo-orchestrator").getSpec().getTemplate().getSpec().getContainers().getFirst();
        EnvVar migrateOnStart = orchestrator.getEnv().stream().filter(e -> e.getName().equals("ORDO_MIGRATE")).findFirst()
                .orElseThrow(() -> new AssertionError("the orchestrator does not set ORDO_MIGRATE"));
        var ref = migrateOnStart.getValueFrom().getConfigMapKeyRef();
        assertThat(configValue(m, ref.getName(), ref.getKey(), "ORDO_MIGRATE")).isEqualTo("false");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void every_deployment_has_one_disruption_budget_that_selects_its_pods(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        List<Deployment> deployments = m.all(Deployment.class);
        for (PodDisruptionBudget pdb : m.all(PodDisruptionBudget.class)) {
            List<Deployment> selected = deployments.stream()
                    .filter(d -> selects(pdb.getSpec().getSelector(), d.getSpec().getTemplate().getMetadata().getLabels())).toList();
            assertThat(selected).as("PDB " + pdb.getMetadata().getName() + " selects the pods of exactly one Deployment").hasSize(1);
            assertThat(pdb.getSpec().getMaxUnavailable()).as("PDB " + pdb.getMetadata().getName()).isEqualTo(new IntOrString(1));
        }
        for (Deployment d : deployments) {
            assertThat(d.getSpec().getTemplate().getMetadata().getLabels()).as(d.getMetadata().getName() + " selector matches its pods")
                    .containsAllEntriesOf(d.getSpec().getSelector().getMatchLabels());
            assertThat(m.all(PodDisruptionBudget.class))
                    .as(d.getMetadata().getName() + " has a PDB")
                    .filteredOn(p -> selects(p.getSpec().getSelector(), d.getSpec().getTemplate().getMetadata().getLabels()))
                    .hasSize(1);
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void services_route_to_declared_ports_of_one_deployment(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        for (Service s : m.all(Service.class)) {
            List<Deployment> backing = m.all(Deployment.class).stream()
                    .filter(d -> d.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(s.getSpec().getSelector().entrySet()))
                    .toList();
            assertThat(backing).as("Service " + s.getMetadata().getName()).hasSize(1);
            Container c = backing.getFirst().getSpec().getTemplate().getSpec().getContainers().getFirst();
            s.getSpec().getPorts().forEach(p -> assertThat(declaresPort(c, p.getTargetPort()))
                    .as("Service " + s.getMetadata().getName() + " targetPort " + p.getTargetPort()).isTrue());
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void grace_periods_cover_the_pre_stop_wait_and_the_drain_of_each_process(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        Set<String> behindAService = new HashSet<>();
        m.all(Service.class).forEach(s -> m.all(Deployment.class).stream()
                .filter(d -> d.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(s.getSpec().getSelector().entrySet()))
                .forEach(d -> behindAService.add(d.getMetadata().getName())));
        for (Deployment d : m.all(Deployment.class)) {
            String name = d.getMetadata().getName();
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            Container c = pod.getContainers().getFirst();
            Duration preStop = Duration.ZERO;
            if (c.getLifecycle() != null && c.getLifecycle().getPreStop() != null) {
                List<String> command = c.getLifecycle().getPreStop().getExec().getCommand();
                assertThat(command).as(name + " preStop").hasSize(2).first().isEqualTo("sleep");
                preStop = Duration.ofSeconds(Long.parseLong(command.get(1)));
            }
            if (behindAService.contains(name)) {
                assertThat(preStop).as(name + " is behind a Service: its preStop waits for the endpoints to be removed")
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
            }
            Duration drain;
            if (name.equals("ordo-orchestrator")) {
                drain = DrainTimes.ORCHESTRATOR;
            } else if (name.equals("ordo-dlq-processor")) {
                drain = DrainTimes.DLQ_PROCESSOR;
            } else {
                var ref = c.getEnv().stream().filter(e -> e.getName().equals("ORDO_WORKER_SHUTDOWN_GRACE")).findFirst()
                        .orElseThrow(() -> new AssertionError(name + " sets no ORDO_WORKER_SHUTDOWN_GRACE")).getValueFrom().getConfigMapKeyRef();
                drain = DrainTimes.parse(configValue(m, ref.getName(), ref.getKey(), name)).plus(DrainTimes.WORKER_AFTER_GRACE);
            }
            assertThat(pod.getTerminationGracePeriodSeconds()).as(name + " terminationGracePeriodSeconds >= preStop "
                    + preStop.toSeconds() + " s + drain " + drain.toSeconds() + " s").isNotNull()
                    .isGreaterThanOrEqualTo(preStop.plus(drain).toSeconds());
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void each_component_has_its_own_service_account_without_an_api_token(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        Map<String, ServiceAccount> accounts = new LinkedHashMap<>();
        m.all(ServiceAccount.class).forEach(a -> accounts.put(a.getMetadata().getName(), a));
        Set<String> used = new HashSet<>();
        for (Workload w : m.workloads()) {
            String sa = w.template().getSpec().getServiceAccountName();
            assertThat(accounts).as(w + " serviceAccountName").containsKey(sa);
            assertThat(used.add(sa)).as(w + " shares ServiceAccount " + sa).isTrue();
            assertThat(w.template().getSpec().getAutomountServiceAccountToken()).as(w + " mounts no API token").isFalse();
            assertThat(accounts.get(sa).getAutomountServiceAccountToken()).as("ServiceAccount " + sa).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void network_policies_deny_by_default_and_open_only_declared_ports(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        List<NetworkPolicy> policies = m.all(NetworkPolicy.class);
        NetworkPolicy deny = policies.stream().filter(p -> p.getSpec().getIngress().isEmpty() && p.getSpec().getEgress().isEmpty()
                && p.getSpec().getPolicyTypes().containsAll(List.of("Ingress", "Egress"))).findFirst()
                .orElseThrow(() -> new AssertionError("no default-deny NetworkPolicy"));
        for (Workload w : m.workloads()) {
            assertThat(selects(deny.getSpec().getPodSelector(), w.template().getMetadata().getLabels()))
                    .as(w + " is covered by " + deny.getMetadata().getName()).isTrue();
        }
        for (NetworkPolicy p : policies) {
            for (var rule : p.getSpec().getIngress()) {
                List<Workload> selected = m.workloads().stream()
                        .filter(w -> selects(p.getSpec().getPodSelector(), w.template().getMetadata().getLabels())).toList();
                assertThat(selected).as("NetworkPolicy " + p.getMetadata().getName() + " selects pods").isNotEmpty();
                assertThat(rule.getPorts()).as(p.getMetadata().getName() + " opens named ports only").isNotEmpty();
                for (NetworkPolicyPort port : rule.getPorts()) {
                    for (Workload w : selected) {
                        assertThat(declaresPort(w.template().getSpec().getContainers().getFirst(), port.getPort()))
                                .as(p.getMetadata().getName() + " port " + port.getPort() + " is declared by " + w).isTrue();
                    }
                }
            }
        }
        Set<Integer> egress = new HashSet<>();
        policies.forEach(p -> p.getSpec().getEgress().forEach(r -> r.getPorts().forEach(port -> egress.add(port.getPort().getIntVal()))));
        assertThat(egress).as("DNS, PostgreSQL and OTLP are reachable").contains(53, 5432, 4318);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void workers_scale_on_cpu_or_with_keda_on_their_queue_depth_but_never_both(String overlay) {
        RenderedManifests m = RENDERED.get(overlay);
        List<Deployment> workers = m.all(Deployment.class).stream().filter(d -> WORKER.matcher(d.getMetadata().getName()).matches()).toList();
        List<JsonNode> scaled = m.custom("ScaledObject");
        List<HorizontalPodAutoscaler> hpas = m.all(HorizontalPodAutoscaler.class);
        for (Deployment d : workers) {
            String name = d.getMetadata().getName();
            assertThat(d.getSpec().getReplicas()).as(name + " leaves its replicas to the autoscaler").isNull();
            long byHpa = hpas.stream().filter(h -> h.getSpec().getScaleTargetRef().getName().equals(name)
                    && h.getSpec().getScaleTargetRef().getKind().equals("Deployment")).count();
            long byKeda = scaled.stream().filter(s -> s.path("spec").path("scaleTargetRef").path("name").asText().equals(name)).count();
            assertThat(byHpa + byKeda).as(name + " has exactly one autoscaler").isEqualTo(1);
        }
        for (HorizontalPodAutoscaler h : hpas) {
            assertThat(h.getSpec().getMinReplicas()).as(h.getMetadata().getName()).isPositive()
                    .isLessThanOrEqualTo(h.getSpec().getMaxReplicas());
            assertThat(workers).extracting(d -> d.getMetadata().getName()).contains(h.getSpec().getScaleTargetRef().getName());
        }
        if (overlay.equals("prod-with-keda")) {
            assertThat(scaled).hasSize(workers.size());
            List<JsonNode> auths = m.custom("TriggerAuthentication");
            for (JsonNode s : scaled) {
                assertScaledObject(s, auths);
            }
        } else {
            assertThat(scaled).isEmpty();
        }
    }

    private static void assertScaledObject(JsonNode s, List<JsonNode> auths) {
        String name = s.path("metadata").path("name").asText();
        Matcher worker = WORKER.matcher(s.path("spec").path("scaleTargetRef").path("name").asText());
        assertThat(worker.matches()).as(name + " scales a worker Deployment").isTrue();
        assertThat(s.path("spec").path("scaleTargetRef").path("kind").asText("Deployment")).isEqualTo("Deployment");
        assertThat(s.path("spec").path("minReplicaCount").asInt()).as(name + " minReplicaCount").isPositive();
        assertThat(s.path("spec").path("maxReplicaCount").asInt()).as(name + " maxReplicaCount")
                .isGreaterThanOrEqualTo(s.path("spec").path("minReplicaCount").asInt());
        JsonNode triggers = s.path("spec").path("triggers");
        assertThat(triggers.size()).as(name + " triggers").isEqualTo(1);
        JsonNode trigger = triggers.get(0);
        assertThat(trigger.path("type").asText()).isEqualTo("postgresql");
        assertThat(trigger.path("metadata").path("query").asText())
                .isEqualTo("select stats_depth from ordo.queue where queue_name = 'ns_" + worker.group(1) + "'");
        assertThat(Double.parseDouble(trigger.path("metadata").path("targetQueryValue").asText())).isPositive();
        String auth = trigger.path("authenticationRef").path("name").asText();
        JsonNode authentication = auths.stream().filter(a -> a.path("metadata").path("name").asText().equals(auth)).findFirst()
                .orElseThrow(() -> new AssertionError(name + ": TriggerAuthentication " + auth + " is not rendered"));
        JsonNode ref = authentication.path("spec").path("secretTargetRef").get(0);
        assertThat(ref.path("parameter").asText()).isEqualTo("connection");
        assertThat(ref.path("name").asText()).isEqualTo("ordo-keda-database");
    }

    /** The KEDA trigger's query runs on a migrated database and answers one integer. */
    @Test
    void the_keda_query_returns_the_depth_of_a_namespace_queue(TestDatabase db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("select ordo.create_namespace('fulfillment')");
            for (JsonNode s : RENDERED.get("prod-with-keda").custom("ScaledObject")) {
                String query = s.path("spec").path("triggers").get(0).path("metadata").path("query").asText();
                if (!query.contains("'ns_fulfillment'")) {
                    continue;
                }
                try (ResultSet rs = st.executeQuery(query)) {
                    assertThat(rs.next()).as(query + " finds the queue").isTrue();
                    assertThat(rs.getLong(1)).isNotNegative();
                    assertThat(rs.next()).isFalse();
                }
            }
        }
    }

    private static List<Container> allContainers(PodSpec pod) {
        List<Container> all = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
            all.addAll(pod.getInitContainers());
        }
        return all;
    }

    private static boolean selects(LabelSelector selector, Map<String, String> labels) {
        assertThat(selector.getMatchExpressions()).as("selectors use matchLabels only").isNullOrEmpty();
        return selector.getMatchLabels() != null && !selector.getMatchLabels().isEmpty()
                && labels.entrySet().containsAll(selector.getMatchLabels().entrySet());
    }
}
