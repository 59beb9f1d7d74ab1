package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;
import io.ordo.OrdoException;

/** JSON responses: ISO-8601 timestamps, snake_case fields (the view records say so), no caching. */
final class Responses {
    private static final ObjectWriter WRITER = Json.MAPPER.writer().without(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private Responses() {
    }

    static void json(ServerResponse res, Status status, Object body) {
        String text;
        try {
            text = WRITER.writeValueAsString(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new OrdoException("cannot write the response: " + e.getOriginalMessage(), e);
        }
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(text);
    }

    static void ok(ServerResponse res, Object body) {
        json(res, Status.OK_200, body);
    }
}
