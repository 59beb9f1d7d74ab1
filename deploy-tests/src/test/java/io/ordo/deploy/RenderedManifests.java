package io.ordo.deploy;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The objects one kustomization renders to ({@code kubectl kustomize}), each parsed strictly: a typed object of
 * fabric8's Kubernetes model for the built-in kinds, where a field the model does not know fails the parse (the
 * model's catch-all for unknown fields is switched off), and a plain map for the KEDA custom resources.
 */
record RenderedManifests(String name, List<HasMetadata> objects, List<JsonNode> customResources) {
    /** apiVersion/kind → model class of every built-in kind the manifests may hold. */
    private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "v1/Namespace", Namespace.class,
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/Service", Service.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "apps/v1/Deployment", Deployment.class,
            "batch/v1/Job", Job.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class,
            "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class);
    private static final List<String> CUSTOM = List.of("keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication");

    static final ObjectMapper STRICT = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .registerModule(new SimpleModule().setDeserializerModifier(new BeanDeserializerModifier() {
                @Override
                public BeanDeserializerBuilder updateBuilder(DeserializationConfig config, BeanDescription description,
                                                             BeanDeserializerBuilder builder) {
                    // fabric8's models put unknown fields in additionalProperties; without that, they fail
                    builder.setAnySetter(null);
                    return builder;
                }
            }));

    /** Renders {@code kustomization} (a directory) with kubectl. */
    static RenderedManifests render(Path kustomization) throws IOException, InterruptedException {
        String yaml = Repository.run(Repository.root(), List.of("kubectl", "kustomize", kustomization.toString()));
        return parse(Repository.root().relativize(kustomization).toString(), yaml);
    }

    /** Parses a multi-document YAML stream. */
    static RenderedManifests parse(String name, String yaml) throws IOException {
        List<HasMetadata> objects = new ArrayList<>();
        List<JsonNode> custom = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = STRICT.readerFor(JsonNode.class).readValues(yaml)) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc == null || doc.isEmpty()) {
                    continue;
                }
                String type = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
                if (CUSTOM.contains(type)) {
                    custom.add(doc);
                    continue;
                }
                Class<? extends HasMetadata> cls = KINDS.get(type);
                if (cls == null) {
                    throw new AssertionError(name + ": unexpected object " + type + " " + doc.path("metadata").path("name").asText());
                }
                try {
                    objects.add(STRICT.treeToValue(doc, cls));
                } catch (IOException e) {
                    throw new AssertionError(name + ": " + type + " " + doc.path("metadata").path("name").asText()
                            + " does not match the Kubernetes model: " + e.getMessage(), e);
                }
            }
        }
        return new RenderedManifests(name, objects, custom);
    }

    <T extends HasMetadata> List<T> all(Class<T> kind) {
        return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> kind, String name) {
        return all(kind).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(this.name + ": no " + kind.getSimpleName() + " " + name));
    }

    List<JsonNode> custom(String kind) {
        return customResources.stream().filter(c -> c.path("kind").asText().equals(kind)).toList();
    }

    /** Every pod template: those of the Deployments and of the Job, with the workload's kind and name. */
    List<Workload> workloads() {
        List<Workload> out = new ArrayList<>();
        all(Deployment.class).forEach(d -> out.add(new Workload("Deployment", d.getMetadata().getName(), d.getSpec().getTemplate())));
        all(Job.class).forEach(j -> out.add(new Workload("Job", j.getMetadata().getName(), j.getSpec().getTemplate())));
        return out;
    }

    /** A workload's kind, name and pod template. */
    record Workload(String kind, String name, PodTemplateSpec template) {
        @Override
        public String toString() {
            return kind + "/" + name;
        }
    }
}
