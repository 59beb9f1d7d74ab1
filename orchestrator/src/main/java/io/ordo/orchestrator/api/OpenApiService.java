package io.ordo.orchestrator.api;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.ordo.OrdoException;
import io.ordo.http.auth.Access;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** {@code GET /openapi}: the hand-written OpenAPI document of the API; a test keeps it and the routes equal. */
public final class OpenApiService implements HttpService {
    public static final String RESOURCE = "/io/ordo/orchestrator/openapi.yaml";

    private final Access access;
    private final String document;

    public OpenApiService(Access access) {
        this.access = access;
        this.document = document();
    }

    public static String document() {
        try (InputStream in = OpenApiService.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new OrdoException("the OpenAPI document " + RESOURCE + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new OrdoException("cannot read the OpenAPI document: " + e.getMessage(), e);
        }
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.open((req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "application/yaml");
            res.send(document);
        }));
    }
}
