package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
)

// masterWatch polls the Spark master's /json endpoint, the master's own
// account of its state and registered workers.
type masterWatch struct {
	url  string
	log  *slog.Logger
	http *http.Client
	// authorize signs a request for the master's UI.
	authorize func(*http.Request)

	mu     sync.Mutex
	status *hearth.MasterStatus
	// changed gets a value when the master's status or worker count changes,
	// so the agent reports readiness at once rather than at the next beat.
	changed chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
}

func newMasterWatch(url string, authorize func(*http.Request), log *slog.Logger) *masterWatch {
	ctx, cancel := context.WithCancel(context.Background())
	return &masterWatch{url: url, log: log, http: &http.Client{Timeout: 5 * time.Second}, authorize: authorize, ctx: ctx, cancel: cancel, changed: make(chan struct{}, 1)}
}

func (m *masterWatch) close() { m.cancel() }

func (m *masterWatch) last() *hearth.MasterStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

func (m *masterWatch) run() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := m.fetch()
		if err != nil {
			st = nil
		}
		m.mu.Lock()
		old := m.status
		m.status = st
		m.mu.Unlock()
		if summary(old) != summary(st) {
			select {
			case m.changed <- struct{}{}:
			default:
			}
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// masterJSON is the subset of the master's /json document Hearth reads.
type masterJSON struct {
	URL          string `json:"url"`
	Status       string `json:"status"`
	AliveWorkers int    `json:"aliveworkers"`
	Cores        int    `json:"cores"`
	CoresUsed    int    `json:"coresused"`
	Memory       int    `json:"memory"`
	MemoryUsed   int    `json:"memoryused"`
	Workers      []struct {
		ID           string `json:"id"`
		Host         string `json:"host"`
		Port         int    `json:"port"`
		WebUIAddress string `json:"webuiaddress"`
		Cores        int    `json:"cores"`
		CoresUsed    int    `json:"coresused"`
		Memory       int    `json:"memory"`
		MemoryUsed   int    `json:"memoryused"`
		State        string `json:"state"`
	} `json:"workers"`
	ActiveApps []struct {
		State string `json:"state"`
	} `json:"activeapps"`
}

func (m *masterWatch) fetch() (*hearth.MasterStatus, error) {
	req, err := http.NewRequestWithContext(m.ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, err
	}
	m.authorize(req)
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var j masterJSON
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return nil, err
	}
	st := &hearth.MasterStatus{URL: j.URL, Status: j.Status, AliveWorkers: j.AliveWorkers, ActiveApps: len(j.ActiveApps), Workers: []hearth.SparkWorker{},
		Cores: j.Cores, CoresUsed: j.CoresUsed, MemoryMB: j.Memory, MemoryUsedMB: j.MemoryUsed}
	for _, a := range j.ActiveApps {
		if a.State == "WAITING" {
			st.AppsWaiting++
		}
	}
	for _, w := range j.Workers {
		st.Workers = append(st.Workers, hearth.SparkWorker{Id: w.ID, Host: w.Host, Port: w.Port, WebUI: w.WebUIAddress, Cores: w.Cores, MemoryMB: w.Memory, State: w.State,
			CoresUsed: w.CoresUsed, MemoryUsedMB: w.MemoryUsed})
	}
	return st, nil
}

func summary(st *hearth.MasterStatus) string {
	if st == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d/%d/%d/%d", st.Status, st.AliveWorkers, st.ActiveApps, st.AppsWaiting, st.CoresUsed)
}

// driversJSON is the part of the master's /json about drivers and where
// they ran.
type driversJSON struct {
	Workers []struct {
		ID           string `json:"id"`
		WebUIAddress string `json:"webuiaddress"`
	} `json:"workers"`
	ActiveDrivers    []driverJSON `json:"activedrivers"`
	CompletedDrivers []driverJSON `json:"completeddrivers"`
}

type driverJSON struct {
	ID     string `json:"id"`
	Worker string `json:"worker"`
}

func (j *driversJSON) driverWorker(id string) string {
	for _, d := range append(j.ActiveDrivers, j.CompletedDrivers...) {
		if d.ID == id {
			return d.Worker
		}
	}
	return ""
}

func (j *driversJSON) isActive(id string) bool {
	for _, d := range j.ActiveDrivers {
		if d.ID == id {
			return true
		}
	}
	return false
}

func (j *driversJSON) workerUI(id string) string {
	for _, w := range j.Workers {
		if w.ID == id {
			return w.WebUIAddress
		}
	}
	return ""
}

// drivers reads the master's drivers and workers now.
func (m *masterWatch) drivers() (*driversJSON, error) {
	req, err := http.NewRequestWithContext(m.ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, err
	}
	m.authorize(req)
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var j driversJSON
	return &j, json.NewDecoder(resp.Body).Decode(&j)
}
