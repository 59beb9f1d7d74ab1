package io.ordo.dlq.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;

/**
 * An RFC 9457 problem, sent as {@code application/problem+json}.
 *
 * @param slug    the kind of problem; the type is {@code urn:ordo:problem:<slug>}
 * @param detail  what went wrong with this request
 * @param field   the body field, path or query parameter or header at fault, or null
 */
record Problem(Status status, String slug, String detail, String field) {
    static final String MEDIA_TYPE = "application/problem+json";

    String toJson(String instance) {
        ObjectNode body = Json.object();
        body.put("type", "urn:ordo:problem:" + slug);
        body.put("title", status.reasonPhrase());
        body.put("status", status.code());
        body.put("detail", detail);
        if (instance != null) {
            body.put("instance", instance);
        }
        if (field != null) {
            body.put("field", field);
        }
        return body.toString();
    }

    void send(ServerResponse res, String instance) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, MEDIA_TYPE);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        if (status == Status.UNAUTHORIZED_401) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"ordo\"");
        }
        res.send(toJson(instance));
    }

    /** A request refused with this problem; nothing was changed. */
    static final class Refused extends RuntimeException {
        final Problem problem;

        Refused(Status status, String slug, String detail, String field) {
            super(detail, null, false, false);
            this.problem = new Problem(status, slug, detail, field);
        }
    }

    static Refused badRequest(String detail, String field) {
        return new Refused(Status.BAD_REQUEST_400, "invalid-request", detail, field);
    }
}
