package io.ordo.http;

import io.helidon.common.tls.Tls;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.ordo.InvalidInputException;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.function.Consumer;

/** Starts a Helidon WebServer from {@link HttpSettings}: TLS when configured, body limit, problem+json errors. */
public final class HttpServers {
    private HttpServers() {
    }

    public static WebServer start(HttpSettings settings, Consumer<HttpRouting.Builder> routing) {
        WebServerConfig.Builder builder = WebServer.builder()
                .host(settings.host())
                .port(settings.port())
                .maxPayloadSize(Requests.drainLimit(settings.maxBodyBytes()))
                .shutdownHook(false)
                .shutdownGracePeriod(Duration.ofSeconds(5))
                .directHandlers(Problems.directHandlers())
                .routing(r -> {
                    Problems.register(r);
                    r.addFilter(new PathGuard());
                    routing.accept(r);
                });
        if (settings.tlsKeystore() != null) {
            builder.tls(Tls.builder().sslContext(sslContext(settings)).build());
        }
        return builder.build().start();
    }

    private static SSLContext sslContext(HttpSettings settings) {
        char[] password = settings.tlsKeystorePassword().toCharArray();
        try (InputStream in = Files.newInputStream(settings.tlsKeystore())) {
            KeyStore keystore = KeyStore.getInstance("PKCS12");
            keystore.load(in, password);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keystore, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new InvalidInputException("ORDO_HTTP_TLS_KEYSTORE: cannot load " + settings.tlsKeystore() + " as PKCS12 with the"
                    + " password in ORDO_HTTP_TLS_KEYSTORE_PASSWORD: " + e.getMessage(), e);
        }
    }
}
