// labnet is svclab's pod network: the standard CNI plugins (bridge, host-local,
// portmap) on each node, with the node's podCIDR, plus a route on every node to
// every other node's podCIDR through that node's InternalIP. All nodes share one
// Docker network, so no encapsulation is needed. It never masquerades pod traffic
// to addresses outside the cluster: pods reach only the lab.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const confTemplate = `{
  "cniVersion": "0.4.0",
  "name": "labnet",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "labnet0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "%s"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

func main() {
	self := os.Getenv("NODE_NAME")
	confDir := envOr("CNI_CONF_DIR", "/etc/cni/net.d")
	if self == "" {
		log.Fatal("NODE_NAME is not set")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	routes := map[string]string{}
	for {
		if err := sync(client, self, confDir, routes); err != nil {
			log.Printf("sync: %v", err)
		}
		time.Sleep(5 * time.Second)
	}
}

func sync(client kubernetes.Interface, self, confDir string, routes map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, node := range nodes.Items {
		cidr, ip := node.Spec.PodCIDR, internalIP(node)
		if cidr == "" || ip == "" {
			continue
		}
		if node.Name == self {
			if err := writeConf(confDir, cidr); err != nil {
				return err
			}
			continue
		}
		if routes[cidr] == ip {
			continue
		}
		out, err := exec.Command("ip", "route", "replace", cidr, "via", ip).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip route replace %s via %s: %v: %s", cidr, ip, err, out)
		}
		routes[cidr] = ip
		log.Printf("route %s via %s (node %s)", cidr, ip, node.Name)
	}
	return nil
}

func writeConf(dir, cidr string) error {
	path := filepath.Join(dir, "10-labnet.conflist")
	want := fmt.Sprintf(confTemplate, cidr)
	if have, err := os.ReadFile(path); err == nil && string(have) == want {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(want), 0o644); err != nil {
		return err
	}
	log.Printf("CNI config for podCIDR %s written to %s", cidr, path)
	return os.Rename(tmp, path)
}

func internalIP(node corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
