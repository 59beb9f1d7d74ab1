package io.ordo.db;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class PromptSocketFactoryTest {

    @Test
    void only_a_one_millisecond_read_on_an_empty_buffer_times_out_at_once_other_reads_are_untouched() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new PromptSocketFactory().createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket peer = server.accept()) {
            InputStream in = client.getInputStream();
            OutputStream out = peer.getOutputStream();

            // pgjdbc's "is more pending?" check: answered from the empty buffer, not by the JDK's 1 ms timed read
            client.setSoTimeout(1);
            assertThatThrownBy(in::read).isInstanceOf(SocketTimeoutException.class).hasMessage("nothing pending");

            out.write(new byte[] {7, 8});
            out.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> in.available() == 2);
            byte[] buffer = new byte[2];
            assertThat(in.read(buffer, 0, 2)).isEqualTo(2);
            assertThat(buffer).containsExactly(7, 8);

            // any other timeout (here: none) blocks until data arrives, as a plain socket does
            client.setSoTimeout(0);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                    out.write(9);
                    out.flush();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(in.read()).isEqualTo(9);
            writer.join();
        }
    }

    @Test
    void a_listener_on_prompt_sockets_receives_every_notification_sent_singly_in_bursts_and_concurrently(TestDatabase db)
            throws Exception {
        Set<String> received = ConcurrentHashMap.newKeySet();
        NotificationListener.Sink sink = new NotificationListener.Sink() {
            @Override
            public Set<String> channels() {
                return Set.of("prompt_test");
            }

            @Override
            public void deliver(String channel, String payload) {
                received.add(payload);
            }
        };
        Set<String> sent = ConcurrentHashMap.newKeySet();
        try (NotificationListener listener = new NotificationListener(db.database(), sink, "prompt-test")) {
            assertThat(listener.awaitListening("prompt_test", Duration.ofSeconds(10))).isTrue();
            try (Connection c = db.database().dataSource().getConnection();
                 PreparedStatement notify = c.prepareStatement("select pg_notify('prompt_test', ?)")) {
                for (int i = 0; i < 100; i++) { // one per transaction, back to back
                    notify.setString(1, "single-" + i);
                    notify.execute();
                    sent.add("single-" + i);
                }
                c.setAutoCommit(false); // a burst: 100 notifications delivered together at one commit
                for (int i = 0; i < 100; i++) {
                    notify.setString(1, "burst-" + i);
                    notify.execute();
                    sent.add("burst-" + i);
                }
                c.commit();
                c.setAutoCommit(true);
            }
            ExecutorService senders = Executors.newFixedThreadPool(4);
            try {
                var futures = new java.util.ArrayList<Future<?>>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    futures.add(senders.submit(() -> {
                        try (Connection c = db.database().dataSource().getConnection();
                             PreparedStatement notify = c.prepareStatement("select pg_notify('prompt_test', ?)")) {
                            for (int i = 0; i < 50; i++) {
                                notify.setString(1, "thread-" + thread + "-" + i);
                                notify.execute();
                                sent.add("thread-" + thread + "-" + i);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                senders.shutdown();
            }
            assertThat(sent).hasSize(400);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(received).containsExactlyInAnyOrderElementsOf(sent));
        }
    }
}
