// runcwrap runs runc inside an svclab node on a host whose capability bounding set
// lacks some capabilities (here CAP_SYS_RESOURCE). Before runc creates a container
// it edits the OCI spec: capabilities the bounding set lacks are dropped, and when
// CAP_SYS_RESOURCE is missing a negative oom_score_adj (the kubelet asks -998 for
// every pod sandbox) is raised to 0, since lowering it needs that capability.
// On a host with every capability it changes nothing.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const realRunc = "/usr/sbin/runc"

var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
	"NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
	"SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
	"AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

func missingCaps() map[string]bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "CapBnd:") {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(line[7:]), 16, 64)
		if err != nil {
			return nil
		}
		missing := map[string]bool{}
		for i, name := range capNames {
			if bnd>>uint(i)&1 == 0 {
				missing["CAP_"+name] = true
			}
		}
		return missing
	}
	return nil
}

// fixProcess edits an OCI process object in place; it reports whether it changed.
func fixProcess(process map[string]any, missing map[string]bool) bool {
	changed := false
	if caps, ok := process["capabilities"].(map[string]any); ok {
		for kind, list := range caps {
			names, ok := list.([]any)
			if !ok {
				continue
			}
			kept := names[:0]
			for _, n := range names {
				if s, _ := n.(string); !missing[s] {
					kept = append(kept, n)
				}
			}
			if len(kept) != len(names) {
				caps[kind] = kept
				changed = true
			}
		}
	}
	if adj, ok := process["oomScoreAdj"].(float64); ok && adj < 0 && missing["CAP_SYS_RESOURCE"] {
		process["oomScoreAdj"] = 0
		changed = true
	}
	return changed
}

func edit(path string, inProcess bool, missing map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	process := doc
	if inProcess {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = p
	}
	if !fixProcess(process, missing) {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func option(args []string, names ...string) string {
	for i, arg := range args {
		for _, name := range names {
			if arg == name && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(arg, name+"=") {
				return arg[len(name)+1:]
			}
		}
	}
	return ""
}

func main() {
	args := os.Args[1:]
	if missing := missingCaps(); len(missing) > 0 {
		for _, arg := range args {
			var err error
			switch arg {
			case "create", "run":
				bundle := option(args, "--bundle", "-b")
				if bundle == "" {
					bundle = "."
				}
				err = edit(filepath.Join(bundle, "config.json"), true, missing)
			case "exec":
				if p := option(args, "--process", "-p"); p != "" {
					err = edit(p, false, missing)
				}
			default:
				continue
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "runcwrap: %v\n", err)
				os.Exit(1)
			}
			break
		}
	}
	err := syscall.Exec(realRunc, append([]string{realRunc}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "runcwrap: exec %s: %v\n", realRunc, err)
	os.Exit(1)
}
