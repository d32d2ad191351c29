import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/** The r-jvm corpus service: a small HTTP API on 127.0.0.1:8080 with the JDK's own server. */
public final class App {
    private static final AtomicLong HITS = new AtomicLong();
    private static final long STARTED = System.currentTimeMillis();

    private App() {}

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] data = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, data.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(data);
        }
    }

    public static void main(String[] args) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 8080), 16);
        server.createContext("/healthz", ex -> reply(ex, 200, "{\"status\":\"ok\"}"));
        server.createContext("/", ex -> {
            long hits = HITS.incrementAndGet();
            long uptime = System.currentTimeMillis() - STARTED;
            if (!"/".equals(ex.getRequestURI().getPath())) {
                reply(ex, 404, "{\"error\":\"not found\"}");
                return;
            }
            reply(ex, 200, "{\"service\":\"r-jvm\",\"hits\":" + hits + ",\"uptimeMs\":" + uptime + "}");
        });
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.start();
        Runtime rt = Runtime.getRuntime();
        System.out.println("r-jvm listening on 127.0.0.1:8080 (max heap " + (rt.maxMemory() >> 20) + " MiB, "
                + rt.availableProcessors() + " CPU)");
    }
}
