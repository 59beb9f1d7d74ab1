package io.ordo.config;

import java.util.Set;

/** Told when the configuration a node runs changes, on the thread that applied the change. */
@FunctionalInterface
public interface ConfigListener {
    /**
     * @param previous     what the node ran before
     * @param current      what it runs now
     * @param changedKeys  the keys whose effective value changed
     */
    void changed(ClusterConfig previous, ClusterConfig current, Set<String> changedKeys);
}
