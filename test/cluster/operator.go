package cluster

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Operator runs the operator binary the way a Deployment would: as a
// process of its own that can be stopped or killed.
type Operator struct {
	// Log is the file the operator's output goes to.
	Log string

	binary, kubeconfig string
	args               []string
	cmd                *exec.Cmd
}

// Start starts the operator and waits until it is ready.
func (o *Operator) Start() error {
	logFile, err := os.OpenFile(o.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	probePort, err := FreePort()
	if err != nil {
		return err
	}
	args := append([]string{
		"--kubeconfig", o.kubeconfig,
		"--namespace", OperatorNamespace,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
	}, o.args...)
	o.cmd = exec.Command(o.binary, args...)
	o.cmd.Stdout, o.cmd.Stderr = logFile, logFile
	if err := o.cmd.Start(); err != nil {
		return err
	}
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the operator did not become ready in 30s; its log is %s", o.Log)
}

// Kill ends the operator with SIGKILL: no final flush, no cleanup.
func (o *Operator) Kill() {
	_ = o.cmd.Process.Kill()
	_ = o.cmd.Wait()
}

// Stop ends the operator as Kubernetes does, with SIGTERM, and waits for it.
func (o *Operator) Stop() {
	if o.cmd == nil || o.cmd.ProcessState != nil {
		return
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		o.Kill()
	}
}

// DumpLog writes the last lines of the operator's log to w.
func (o *Operator) DumpLog(w io.Writer, lines int) {
	data, _ := os.ReadFile(o.Log)
	if all := bytes.Split(data, []byte("\n")); len(all) > lines {
		data = bytes.Join(all[len(all)-lines:], []byte("\n"))
	}
	fmt.Fprintf(w, "--- operator log (last %d lines) ---\n%s\n", lines, data)
}
