package io.ordo.db;

import javax.net.SocketFactory;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;

/**
 * The pgjdbc {@code socketFactory} Ordo connects with, so that a NOTIFY wakes its listener at once.
 * <p>
 * After each notification it receives, pgjdbc asks whether another message is pending by reading with a 1 ms socket
 * timeout, and hands the notification over only when that read has timed out. Every wake-up therefore came 1 ms late:
 * 1.2 ms from the sender's commit to the listener's wake-up, against 0.06 ms for a query round trip on the same
 * machine, and one workflow step takes two wake-ups (load-tests/RESULTS.md). A socket of this factory answers a read
 * under that 1 ms timeout from what has already arrived: with nothing in the receive buffer it times out at once,
 * which is the answer pgjdbc was waiting for. Reads under any other timeout, or none, are left alone.
 */
public final class PromptSocketFactory extends SocketFactory {
    /** The read timeout pgjdbc uses for its "is a message pending?" check. */
    private static final int PENDING_CHECK_MILLIS = 1;

    /** Used by pgjdbc, which creates an unconnected socket and connects it itself. */
    @Override
    public Socket createSocket() {
        return new PromptSocket();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    /** A socket of this factory connected to {@code remote}, bound to {@code local} first unless that is null. */
    private static Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
        Socket socket = new PromptSocket();
        if (local != null) {
            socket.bind(local);
        }
        socket.connect(remote);
        return socket;
    }

    private static final class PromptSocket extends Socket {
        private volatile int timeout;

        @Override
        public synchronized void setSoTimeout(int millis) throws SocketException {
            super.setSoTimeout(millis);
            timeout = millis;
        }

        @Override
        public InputStream getInputStream() throws IOException {
            InputStream in = super.getInputStream();
            return new FilterInputStream(in) {
                @Override
                public int read() throws IOException {
                    nothingPending();
                    return super.read();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    nothingPending();
                    return super.read(b, off, len);
                }

                private void nothingPending() throws IOException {
                    if (timeout == PENDING_CHECK_MILLIS && in.available() == 0) {
                        throw new SocketTimeoutException("nothing pending");
                    }
                }
            };
        }
    }
}
