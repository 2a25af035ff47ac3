// myapp answers like the seeds' workload: GET / names the version and links
// hostname.html; GET /hostname.html returns the pod's name. It listens on every
// port in MYAPP_PORTS (default 80), so a test can make a pod declare one port and
// listen on another. GET /admin/ready?state=0 makes / and /hostname.html answer 503
// (so a readiness probe on them fails) until /admin/ready?state=1.
//
// For the checks of source IPs, hairpin, UDP and terminating endpoints it also:
// answers GET /clientip with the TCP peer it sees (ip:port); answers GET
// /fetch?url=U with the body of U fetched by the pod itself (so the pod is the
// client); answers every datagram on each port in MYAPP_UDP_PORTS with its name
// (or, for the datagram "clientip", with the peer it sees); and after SIGTERM keeps
// serving for MYAPP_DRAIN_SECONDS (default 0) before it shuts down.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
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
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.RemoteAddr)
	})
	mux.HandleFunc("/fetch", fetch)
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
	// an application that needs time before it can serve (a cache to warm, say): only a
	// readiness probe keeps its Service from sending it requests meanwhile
	if delay, _ := strconv.Atoi(os.Getenv("MYAPP_START_DELAY_SECONDS")); delay > 0 {
		log.Printf("myapp: starting, not listening for %d s", delay)
		time.Sleep(time.Duration(delay) * time.Second)
	}
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
	for _, port := range strings.Split(os.Getenv("MYAPP_UDP_PORTS"), ",") {
		if port = strings.TrimSpace(port); port != "" {
			go serveUDP(":"+port, host)
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	if drain, _ := strconv.Atoi(os.Getenv("MYAPP_DRAIN_SECONDS")); drain > 0 {
		log.Printf("myapp: terminating, still serving for %d s", drain)
		time.Sleep(time.Duration(drain) * time.Second)
	}
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

// fetch makes the pod the client: the hairpin and pod-to-pod source-IP checks need a
// request that leaves a backend pod. One GET, 2 s, no redirects followed.
func fetch(w http.ResponseWriter, r *http.Request) {
	client := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(r.URL.Query().Get("url"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<16))
}

// serveUDP answers each datagram with the pod's name, or with the peer it sees for
// the datagram "clientip".
func serveUDP(addr, host string) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("myapp %s listening on udp %s", version, addr)
	buf := make([]byte, 512)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			log.Printf("udp read: %v", err)
			continue
		}
		reply := host
		if strings.TrimSpace(string(buf[:n])) == "clientip" {
			reply = peer.String()
		}
		_, _ = conn.WriteTo([]byte(reply+"\n"), peer)
	}
}
