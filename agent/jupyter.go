package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// jupyterEnv is a Python virtual environment with JupyterLab, made once per
// node from PyPI. It returns the venv's python.
func (a *Agent) jupyterEnv(ctx context.Context) (string, error) {
	venv := filepath.Join(a.cfg.Dir, "jupyter-venv")
	python := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(filepath.Join(venv, ".hearth-ready")); err == nil {
		return python, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	base := os.Getenv("PYSPARK_PYTHON")
	if base == "" {
		base = "python3"
	}
	for _, args := range [][]string{
		{base, "-m", "venv", "--clear", venv},
		{python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "jupyterlab"},
	} {
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("install JupyterLab from PyPI (%s): %v: %s", strings.Join(args, " "), err, lastLines(out, 3))
		}
	}
	os.WriteFile(filepath.Join(venv, ".hearth-ready"), nil, 0o644)
	a.log.Info("JupyterLab installed", "venv", venv)
	return python, nil
}

// jupyterCommand runs JupyterLab on the master node, its notebooks' PySpark
// sessions attached to the cluster (PYSPARK_SUBMIT_ARGS names the master).
// It keeps jupyter_server's default Origin check: only the gateway, which
// presents the token, gets in.
func jupyterCommand(python string, dist spark.Distribution, host string, port int, token, baseURL, masterURL, notebooks string, dirs spark.NodeDirs) spark.Command {
	pythonPath, _ := filepath.Glob(filepath.Join(dist.Home, "python", "lib", "*.zip"))
	if dist.PythonPath != "" { // a runtime downloaded from the control plane
		pythonPath = append(pythonPath, dist.PythonPath)
	}
	return spark.Command{
		Args: []string{python, "-m", "jupyterlab",
			"--no-browser", "--allow-root",
			"--ServerApp.ip=" + host, fmt.Sprintf("--ServerApp.port=%d", port), "--ServerApp.port_retries=0",
			"--ServerApp.base_url=" + baseURL,
			"--ServerApp.root_dir=" + notebooks,
		},
		Env: append(dist.Env(host, dirs),
			"PYTHONPATH="+strings.Join(pythonPath, ":"),
			"PYSPARK_PYTHON="+python,
			"PYSPARK_SUBMIT_ARGS=--master "+masterURL+" pyspark-shell",
			"JUPYTER_CONFIG_DIR="+filepath.Join(notebooks, ".jupyter"),
			"JUPYTER_TOKEN="+token, // not on the command line, where ps shows it
		),
	}
}

// jupyterState tracks the JupyterLab install, which runs in the background.
type jupyterState struct {
	started bool
	python  string
	err     string
}

// jupyterReady returns the venv's python once JupyterLab is installed,
// starting the install if needed. Called with a.mu held.
func (a *Agent) jupyterReady() (string, bool) {
	j := &a.jupyter
	if j.python != "" || j.err != "" {
		return j.python, j.python != ""
	}
	if !j.started {
		j.started = true
		go func() {
			python, err := a.jupyterEnv(context.Background())
			a.mu.Lock()
			if err != nil {
				j.err = err.Error()
			} else {
				j.python = python
			}
			a.mu.Unlock()
			select {
			case a.again <- struct{}{}:
			default:
			}
		}()
	}
	return "", false
}
