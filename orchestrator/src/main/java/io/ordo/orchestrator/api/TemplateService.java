package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.NotFoundException;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;
import io.ordo.template.TemplateRegistry;

import java.util.List;
import java.util.Map;

/** {@code /v1/templates}: register a template (YAML or JSON body), list them, read one version. */
public final class TemplateService implements HttpService {
    private final TemplateRegistry registry;
    private final Access access;
    private final Requests requests;

    public TemplateService(TemplateRegistry registry, Access access, Requests requests) {
        this.registry = registry;
        this.access = access;
        this.requests = requests;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.put("/", access.require(Role.OPERATOR, this::register))
                .get("/", access.require(Role.READER, this::list))
                .get("/{namespace}/{name}/{version}", access.require(Role.READER, this::get));
    }

    private void register(ServerRequest req, ServerResponse res) {
        TemplateRegistry.Registered r = registry.register(requests.text(req));
        String location = "/v1/templates/" + r.namespace() + "/" + r.name() + "/" + r.version();
        res.header(HeaderNames.LOCATION, location);
        Responses.json(res, r.created() ? Status.CREATED_201 : Status.OK_200,
                Map.of("namespace", r.namespace(), "name", r.name(), "version", r.version(), "created", r.created()));
    }

    private void list(ServerRequest req, ServerResponse res) {
        String namespace = Requests.query(req, "namespace").map(v -> Requests.check("namespace", v, Requests.NAMESPACE)).orElse(null);
        List<JsonNode> all = registry.list().stream()
                .filter(t -> namespace == null || namespace.equals(t.path("namespace").asText()))
                .toList();
        Responses.ok(res, Map.of("items", all));
    }

    private void get(ServerRequest req, ServerResponse res) {
        String namespace = Requests.pathParam(req, "namespace", Requests.NAMESPACE);
        String name = Requests.pathParam(req, "name", Requests.NAME);
        String version = Requests.pathParam(req, "version", Requests.VERSION);
        JsonNode template = registry.get(namespace, name, version);
        if (template == null) {
            throw new NotFoundException("template " + namespace + "/" + name + " version " + version + " does not exist", null);
        }
        Responses.ok(res, template);
    }
}
