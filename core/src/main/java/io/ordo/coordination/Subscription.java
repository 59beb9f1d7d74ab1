package io.ordo.coordination;

/** A channel subscription; closing it stops delivery to its handler. */
public interface Subscription extends AutoCloseable {
    String channel();

    @Override
    void close();
}
