package io.ordo.dlq;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.Coordination;
import io.ordo.db.Database;
import io.ordo.dlq.http.DatabaseTokenVerifier;
import io.ordo.dlq.http.DlqHttpService;
import io.ordo.dlq.http.TokenVerifier;

import java.time.Clock;

/**
 * A dlq-processor process: the {@link DlqProcessor} and, unless the port is -1, a Helidon web server with the
 * {@code /v1/dlq} admin endpoints. {@link #close()} stops both gracefully.
 */
public final class DlqServer implements AutoCloseable {
    private final DlqProcessor processor;
    private final WebServer web;

    private DlqServer(DlqProcessor processor, WebServer web) {
        this.processor = processor;
        this.web = web;
    }

    /** Mounts the admin endpoints on a routing, at {@code /v1/dlq}. */
    public static void routing(HttpRouting.Builder routing, DeadLetters letters, TokenVerifier tokens) {
        routing.register("/v1/dlq", new DlqHttpService(letters, tokens));
    }

    /** Starts the web server (unless the port is -1), then the processor; see {@link DlqProcessor#start}. */
    public static DlqServer start(Database database, Coordination coordination, LiveConfig config, DlqSettings settings, Clock clock) {
        WebServer web = null;
        if (settings.port() >= 0) {
            web = WebServer.builder()
                    .host(settings.host())
                    .port(settings.port())
                    .routing(r -> routing(r, new DeadLetters(database.dsl()), new DatabaseTokenVerifier(database.dsl())))
                    .build()
                    .start();
        }
        try {
            // the node registers the port it actually listens on
            DlqSettings actual = web == null ? settings : settings.withPort(web.port());
            return new DlqServer(DlqProcessor.start(database, coordination, config, actual, clock), web);
        } catch (RuntimeException e) {
            if (web != null) {
                web.stop();
            }
            throw e;
        }
    }

    public DlqProcessor processor() {
        return processor;
    }

    /** The port the admin endpoints listen on, or -1 without them. */
    public int port() {
        return web == null ? -1 : web.port();
    }

    /** Stops taking requests, then stops the processor (it finishes its batch, drains and leaves the registry). */
    @Override
    public void close() {
        if (web != null) {
            web.stop();
        }
        processor.close();
    }
}
