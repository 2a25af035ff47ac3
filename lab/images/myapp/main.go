// myapp answers like the seeds' workload: GET / names the version and links
// hostname.html; GET /hostname.html returns the pod's name. It listens on every
// port in MYAPP_PORTS (default 80), so a test can make a pod declare one port and
// listen on another. GET /admin/ready?state=0 makes / and /hostname.html answer 503
// (so a readiness probe on them fails) until /admin/ready?state=1.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	version = "v1"
	ready   atomic.Bool
)

func main() {
	if v := os.Getenv("MYAPP_VERSION"); v != "" {
		version = v
	}
	host, err := os.Hostname()
	if err != nil {
		log.Fatal(err)
	}
	ready.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/ready", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("state") {
		case "0":
			ready.Store(false)
		case "1":
			ready.Store(true)
		}
		fmt.Fprintf(w, "%s ready=%t\n", host, ready.Load())
	})
	mux.HandleFunc("/hostname.html", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, host)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/index.html" {
			http.NotFound(w, r)
			return
		}
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "Hello MyApp | Version: %s | <a href=\"hostname.html\">Pod Name</a>\n", version)
	})
	ports := strings.Split(envOr("MYAPP_PORTS", "80"), ",")
	servers := make([]*http.Server, 0, len(ports))
	for _, port := range ports {
		srv := &http.Server{Addr: ":" + strings.TrimSpace(port), Handler: mux,
			ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() {
			log.Printf("myapp %s listening on %s", version, srv.Addr)
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Fatal(err)
			}
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(ctx)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
