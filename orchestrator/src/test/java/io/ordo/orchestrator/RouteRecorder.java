package io.ordo.orchestrator;

import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Runs a routing function against a recording {@link HttpRouting.Builder}, so a test sees every route it
 * registers: method, full path and the handler (with its role, when it is {@link Access.Guarded}).
 */
final class RouteRecorder {
    private static final Set<String> METHODS = Set.of("get", "post", "put", "delete", "patch", "head", "options", "trace", "any");

    /** One registered route; {@code guarded} is null when the handler does not say who may call it. */
    record Route(String method, String path, Access.Guarded guarded) {
        Role role() {
            return guarded == null ? null : guarded.role();
        }
    }

    private RouteRecorder() {
    }

    static List<Route> record(java.util.function.Consumer<HttpRouting.Builder> routing) {
        List<Route> routes = new ArrayList<>();
        routing.accept((HttpRouting.Builder) proxy(HttpRouting.Builder.class, "", routes));
        return routes;
    }

    private static Object proxy(Class<?> type, String prefix, List<Route> routes) {
        return Proxy.newProxyInstance(RouteRecorder.class.getClassLoader(), new Class<?>[]{type}, (self, method, args) -> {
            String name = method.getName();
            Object[] a = args == null ? new Object[0] : args;
            if (name.equals("register")) {
                String path = a.length > 0 && a[0] instanceof String s ? s : "";
                for (Object o : a) {
                    for (HttpService service : services(o)) {
                        service.routing((HttpRules) proxy(HttpRules.class, join(prefix, path), routes));
                    }
                }
                return self;
            }
            if (METHODS.contains(name)) {
                String path = a.length > 0 && a[0] instanceof String s ? s : "/";
                Object handlers = a[a.length - 1];
                Handler handler = handlers instanceof Handler[] hs ? hs[0] : (Handler) handlers;
                routes.add(new Route(name.toUpperCase(Locale.ROOT), join(prefix, path),
                        handler instanceof Access.Guarded g ? g : null));
                return self;
            }
            if (name.equals("route")) {
                throw new AssertionError("register routes with get/post/put/delete so that tests can see them");
            }
            if (name.equals("toString")) {
                return "RouteRecorder proxy";
            }
            if (method.getReturnType().isInstance(self)) {
                return self; // addFilter, error, security ...
            }
            return null;
        });
    }

    @SuppressWarnings("unchecked")
    private static List<HttpService> services(Object o) {
        if (o instanceof HttpService s) {
            return List.of(s);
        }
        if (o instanceof HttpService[] array) {
            return List.of(array);
        }
        if (o instanceof Supplier<?> supplier) {
            return List.of((HttpService) supplier.get());
        }
        if (o instanceof List<?> list) {
            return list.stream().map(x -> (HttpService) ((Supplier<?>) x).get()).toList();
        }
        return List.of();
    }

    static String join(String prefix, String path) {
        String p = path.equals("/") || path.isEmpty() ? "" : (path.startsWith("/") ? path : "/" + path);
        String full = prefix + p;
        return full.isEmpty() ? "/" : full;
    }
}
