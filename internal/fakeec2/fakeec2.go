//go:build linux

// Package fakeec2 is a FAKE of Amazon EC2 for tests: moto's server (a Python
// fake of AWS's APIs, pip's moto[server]) behind a proxy of this package's,
// which records every request and can answer one with an error, and a booter
// that turns the instances moto says are running into machines on this one.
//
// Each such instance is a network namespace on a bridge (internal/testhosts's
// Network), with the private address moto gave it in the fake's subnet, in
// which its user data runs as root under bash: in its own hostname namespace
// (the hostname is the instance id) and mount namespace, where an empty
// directory of the instance's own is bind-mounted over /var/lib/hearth, so
// that instances sharing this machine's filesystem each have their own, as
// separate machines would. When moto says an instance is shutting down,
// terminated, stopping or stopped (TerminateInstances, StopInstances), the
// booter kills every process in its namespace, as a power-off would, and
// deletes the namespace; a stopped instance is not booted again.
//
// Nothing leaves the machine: the instances have routes to their subnet only,
// so they reach each other and Cloud.GatewayIP (the root namespace, where the
// test's control plane listens), and the package talks to moto on loopback.
//
// It needs root, iproute2, util-linux, bash and python3 with moto[server]
// (scripts/test-deps.sh installs them). Cloud.Close removes all of it; what a
// process that died before Close left (a test timeout), the next Start here
// or in internal/testhosts removes, and moto dies with its parent.
package fakeec2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/hearthcluster/hearth/internal/testhosts"
)

const (
	region = "us-east-1"
	// pollEvery is how often the booter asks moto for its instances.
	pollEvery = 200 * time.Millisecond
	// motoTimeout bounds Start's wait for moto's server, when ctx has no
	// sooner deadline.
	motoTimeout = 60 * time.Second
	// hearthDir is what each instance has of its own.
	hearthDir = "/var/lib/hearth"
)

// motoScript runs moto's server on a free port of loopback, prints the port
// and serves until its standard input closes.
const motoScript = `
import logging, os, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
`

// Options says what Start creates.
type Options struct {
	// Subnet is the IPv4 network, such as "10.77.3.0/24", of the VPC and
	// its one subnet, and so of the instances (moto gives them addresses
	// from the fifth on, as AWS does) and the bridge (the first address).
	// AWS allows /16 to /28. It must not overlap the machine's addresses,
	// routes or name servers. Empty picks a free 10.X.Y.0/24.
	Subnet string
}

// Cloud is a fake EC2 region, made by Start.
type Cloud struct {
	// Endpoint is the URL of the proxy in front of moto: give it to the
	// AWS SDK's EC2 client as its BaseEndpoint, with any static
	// credentials and Region.
	Endpoint string
	Region   string // "us-east-1": moto keeps a state per region
	VPCId    string // a VPC with the CIDR block Subnet
	SubnetId string // its subnet, in us-east-1a, with the CIDR block Subnet
	Subnet   string // the network, in CIDR notation
	// GatewayIP is the bridge's address in the root namespace: the
	// instances reach the test's control plane there.
	GatewayIP string
	Bridge    string // the bridge's name

	baseDir string
	nw      *testhosts.Network
	ec2     *ec2.Client // straight to moto, for the booter and the fake's own calls

	moto       *exec.Cmd
	motoIn     io.WriteCloser // moto's standard input, held open while it should serve
	motoExited chan struct{}
	motoURL    *url.URL
	srv        *http.Server
	proxy      *httputil.ReverseProxy

	stopBooter context.CancelFunc
	booterDone chan struct{}

	mu       sync.Mutex // guards requests, fails and failing
	requests []Request
	fails    map[string][]failure // by action, FailNext's, first first
	failing  map[string]failure   // by amz-sdk-invocation-id: calls whose retries fail too

	vmMu sync.Mutex // guards vms, and is held while a namespace is made or deleted
	vms  map[string]*vm

	closeMu sync.Mutex
	closed  bool
}

// Request is an EC2 request that went through the proxy.
type Request struct {
	Action string     // the query API's Action, such as "RunInstances"
	Params url.Values // all its parameters, Action and Version included
}

// Instance is an instance as moto and the booter know it.
type Instance struct {
	Id           string
	State        string // moto's: pending, running, shutting-down, terminated, stopping, stopped
	PrivateIP    string
	InstanceType string
	Market       string // "spot" for a spot instance, else ""
	Tags         map[string]string
	// Booted is whether the booter has started the instance's user data
	// (it stays true once the instance is terminated).
	Booted bool
}

// vm is the booter's record of an instance.
type vm struct {
	dir    string // <baseDir>/instances/<id>
	ns     string // its network namespace, once made
	booted bool   // its user data was started
	off    bool   // powered off (or never to be booted): its namespace is gone
}

type failure struct{ code, message string }

// Start starts moto, creates the VPC, its subnet and the bridge, and starts
// the proxy and the booter. Logs go to baseDir (moto.log, booter.log and
// instances/<id>/user-data.log), which it creates. On error it removes
// whatever it had made. The Cloud lives until Close, whatever becomes of ctx.
func Start(ctx context.Context, baseDir string, opt Options) (_ *Cloud, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("fakeec2: network namespaces need root")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("fakeec2: %w (scripts/test-deps.sh installs what the tests need)", err)
		}
	}
	if opt.Subnet != "" {
		_, s, err := net.ParseCIDR(opt.Subnet)
		if err != nil || s.IP.To4() == nil {
			return nil, fmt.Errorf("fakeec2: Options.Subnet %q is not an IPv4 network", opt.Subnet)
		}
		if ones, _ := s.Mask.Size(); ones < 16 || ones > 28 {
			return nil, fmt.Errorf("fakeec2: Options.Subnet %s: AWS allows /16 to /28", opt.Subnet)
		}
	}
	if baseDir, err = filepath.Abs(baseDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(baseDir, "instances"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(hearthDir, 0o755); err != nil {
		return nil, err
	}
	c := &Cloud{Region: region, baseDir: baseDir, fails: map[string][]failure{}, failing: map[string]failure{}, vms: map[string]*vm{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if err := c.startMoto(ctx); err != nil {
		return nil, err
	}
	if c.nw, err = testhosts.NewNetwork(ctx, baseDir, opt.Subnet, 1); err != nil {
		return nil, fmt.Errorf("fakeec2: %w", err)
	}
	c.Subnet, c.GatewayIP, c.Bridge = c.nw.Subnet, c.nw.GatewayIP, c.nw.Bridge

	c.ec2 = newClient(c.motoURL.String())
	vpc, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(c.Subnet)})
	if err != nil {
		return nil, fmt.Errorf("fakeec2: CreateVpc in moto: %w", err)
	}
	c.VPCId = aws.ToString(vpc.Vpc.VpcId)
	subnet, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(c.Subnet), AvailabilityZone: aws.String(region + "a")})
	if err != nil {
		return nil, fmt.Errorf("fakeec2: CreateSubnet in moto: %w", err)
	}
	c.SubnetId = aws.ToString(subnet.Subnet.SubnetId)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.Endpoint = "http://" + ln.Addr().String()
	c.proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(c.motoURL) }}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln)

	var booterCtx context.Context
	booterCtx, c.stopBooter = context.WithCancel(context.Background())
	c.booterDone = make(chan struct{})
	go c.booter(booterCtx)
	return c, nil
}

// newClient is an EC2 client of endpoint's, with static credentials and
// no proxy.
func newClient(endpoint string) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("fakeec2", "fakeec2", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{Proxy: nil}},
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// startMoto starts moto's server, which dies with this process (a parent
// death signal, and its standard input closing), and waits for its port.
func (c *Cloud) startMoto(ctx context.Context) error {
	log, err := os.OpenFile(filepath.Join(c.baseDir, "moto.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("python3", "-c", motoScript)
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if c.motoIn, err = cmd.StdinPipe(); err != nil { // closed when this process dies
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("fakeec2: starting moto: %w", err)
	}
	c.moto, c.motoExited = cmd, make(chan struct{})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(c.motoExited)
	}()
	ctx, cancel := context.WithTimeout(ctx, motoTimeout)
	defer cancel()
	select {
	case p := <-port:
		if _, err := strconv.Atoi(p); err != nil {
			return fmt.Errorf("fakeec2: moto's server did not start (is moto[server] installed? scripts/test-deps.sh installs it); %s ends:\n%s", log.Name(), tail(log.Name()))
		}
		c.motoURL = &url.URL{Scheme: "http", Host: "127.0.0.1:" + p}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fakeec2: waiting for moto's server: %w; %s ends:\n%s", ctx.Err(), log.Name(), tail(log.Name()))
	}
}

// Close stops the booter, kills every process in the instances' namespaces,
// deletes the namespaces and the bridge, and stops the proxy and moto. It
// can be called again, and retries what failed.
func (c *Cloud) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed {
		return nil
	}
	if c.stopBooter != nil {
		c.stopBooter()
		<-c.booterDone
		c.stopBooter = nil
	}
	var errs []error
	if c.nw != nil {
		errs = append(errs, c.nw.Close())
	}
	if c.srv != nil {
		c.srv.Close()
	}
	if c.moto != nil {
		c.moto.Process.Kill() // through its pidfd: never another process
		select {
		case <-c.motoExited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("fakeec2: moto (pid %d) has not exited", c.moto.Process.Pid))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.closed = true
	return nil
}

// FailNext makes the proxy answer the next request for action (such as
// "RunInstances"), and the SDK's retries of it, with an EC2 error of code
// and message instead of passing it to moto: HTTP 500 for a server error
// (InsufficientInstanceCapacity, InternalError, ...), 503 for
// RequestLimitExceeded and Unavailable, 412 for DryRunOperation, else 400.
// The SDKs retry 5xx errors and throttling, each retry of a call with the same
// amz-sdk-invocation-id header: those retries fail too, so that the call
// fails as it would when AWS has no capacity, and the next call goes through.
// Each FailNext fails one more call.
func (c *Cloud) FailNext(action, code, message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails[action] = append(c.fails[action], failure{code, message})
}

// Requests returns every request that went through the proxy, first first,
// those FailNext failed included.
func (c *Cloud) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Request, len(c.requests))
	for i, r := range c.requests {
		out[i] = Request{Action: r.Action, Params: url.Values{}}
		for k, v := range r.Params {
			out[i].Params[k] = append([]string(nil), v...)
		}
	}
	return out
}

// serve is the proxy: it records the request and passes it to moto, or
// fails it.
func (c *Cloud) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := r.URL.Query()
	if form, err := url.ParseQuery(string(body)); err == nil && r.Method == http.MethodPost {
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	action := params.Get("Action")
	invocation := r.Header.Get("Amz-Sdk-Invocation-Id")
	c.mu.Lock()
	c.requests = append(c.requests, Request{Action: action, Params: params})
	f, fail := c.failing[invocation]
	if invocation == "" || !fail {
		if q := c.fails[action]; len(q) > 0 {
			f, fail, c.fails[action] = q[0], true, q[1:]
			if invocation != "" {
				c.failing[invocation] = f
			}
		}
	}
	c.mu.Unlock()
	if fail {
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
		xml.EscapeText(&b, []byte(f.code))
		b.WriteString("</Code><Message>")
		xml.EscapeText(&b, []byte(f.message))
		fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", requestID())
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status(f.code))
		w.Write(b.Bytes())
		return
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	c.proxy.ServeHTTP(w, r)
}

// status is the HTTP status with which EC2 answers an error code.
func status(code string) int {
	switch {
	case code == "RequestLimitExceeded" || code == "Unavailable" || code == "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case code == "InternalError" || code == "InternalFailure" || strings.HasPrefix(code, "Insufficient") && strings.HasSuffix(code, "Capacity"):
		return http.StatusInternalServerError
	case code == "DryRunOperation":
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

var requestSeq struct {
	sync.Mutex
	n int
}

func requestID() string {
	requestSeq.Lock()
	defer requestSeq.Unlock()
	requestSeq.n++
	return fmt.Sprintf("fakeec2-%08x-0000-4000-8000-%012x", os.Getpid(), requestSeq.n)
}

// Instances returns every instance moto has, with whether the booter booted
// it.
func (c *Cloud) Instances(ctx context.Context) ([]Instance, error) {
	insts, err := c.describe(ctx)
	if err != nil {
		return nil, err
	}
	c.vmMu.Lock()
	defer c.vmMu.Unlock()
	var out []Instance
	for _, in := range insts {
		i := Instance{Id: aws.ToString(in.InstanceId), PrivateIP: aws.ToString(in.PrivateIpAddress), InstanceType: string(in.InstanceType), Tags: map[string]string{}}
		if in.State != nil {
			i.State = string(in.State.Name)
		}
		if in.InstanceLifecycle == types.InstanceLifecycleTypeSpot {
			i.Market = "spot"
		}
		for _, t := range in.Tags {
			i.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if v := c.vms[i.Id]; v != nil {
			i.Booted = v.booted
		}
		out = append(out, i)
	}
	return out, nil
}

// Interrupt does what AWS does when it reclaims a spot instance (or any
// instance, here): it kills every process in the instance's namespace and
// deletes the namespace, then terminates the instance in moto.
func (c *Cloud) Interrupt(ctx context.Context, id string) error {
	out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return fmt.Errorf("fakeec2: Interrupt %s: %w", id, err)
	}
	if len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return fmt.Errorf("fakeec2: Interrupt %s: no such instance", id)
	}
	if err := c.powerOff(id); err != nil {
		return err
	}
	if _, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		return fmt.Errorf("fakeec2: Interrupt %s: TerminateInstances: %w", id, err)
	}
	return nil
}

// Processes returns the live processes in the instance's namespace: none
// before it boots or once it is off.
func (c *Cloud) Processes(id string) []int {
	c.vmMu.Lock()
	defer c.vmMu.Unlock()
	v := c.vms[id]
	if v == nil || v.ns == "" || v.off {
		return nil
	}
	pids, _ := testhosts.NamespacePids(v.ns)
	return pids
}

// Exec runs a command on a booted instance, for a test's assertions: in its
// network, hostname and mount namespaces (those of one of its processes, so
// it sees the instance's /var/lib/hearth), with the caller's environment. It
// returns the command's standard output, or an error with its standard
// error.
func (c *Cloud) Exec(ctx context.Context, id string, args ...string) ([]byte, error) {
	pids := c.Processes(id)
	if len(pids) == 0 {
		return nil, fmt.Errorf("fakeec2: instance %s has no processes", id)
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(pids[0]), "--net", "--uts", "--mount", "--"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("fakeec2: %s on %s: %w: %s", strings.Join(args, " "), id, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, err
}

// HearthDir is the directory that is the instance's /var/lib/hearth.
func (c *Cloud) HearthDir(id string) string {
	return filepath.Join(c.baseDir, "instances", id, "var-lib-hearth")
}

// describe returns every instance moto has.
func (c *Cloud) describe(ctx context.Context) ([]types.Instance, error) {
	var insts []types.Instance
	p := ec2.NewDescribeInstancesPaginator(c.ec2, &ec2.DescribeInstancesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("fakeec2: DescribeInstances in moto: %w", err)
		}
		for _, r := range out.Reservations {
			insts = append(insts, r.Instances...)
		}
	}
	return insts, nil
}

// booter boots the instances that turn running and powers off those that
// turn off, until ctx ends.
func (c *Cloud) booter(ctx context.Context) {
	defer close(c.booterDone)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	var last string // the last error logged, not to repeat it
	for {
		err := c.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if msg := fmt.Sprint(err); err != nil && msg != last {
			c.logBooter(msg)
		}
		last = fmt.Sprint(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Cloud) poll(ctx context.Context) error {
	insts, err := c.describe(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range insts {
		if in.State == nil {
			continue
		}
		id := aws.ToString(in.InstanceId)
		switch in.State.Name {
		case types.InstanceStateNameRunning:
			errs = append(errs, c.boot(ctx, id, aws.ToString(in.PrivateIpAddress)))
		case types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated, types.InstanceStateNameStopping, types.InstanceStateNameStopped:
			errs = append(errs, c.powerOff(id))
		}
	}
	return errors.Join(errs...)
}

func (c *Cloud) logBooter(msg string) {
	if f, err := os.OpenFile(filepath.Join(c.baseDir, "booter.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "%s %s\n", time.Now().Format(time.RFC3339Nano), msg)
		f.Close()
	}
}

// boot boots the instance if the booter has not yet: a namespace with its
// address, and its user data running there. What goes wrong is in its
// user-data.log, and the instance is never booted.
func (c *Cloud) boot(ctx context.Context, id, addr string) error {
	c.vmMu.Lock()
	defer c.vmMu.Unlock()
	if c.vms[id] != nil {
		return nil
	}
	v := &vm{dir: filepath.Join(c.baseDir, "instances", id)}
	c.vms[id] = v
	if err := os.MkdirAll(filepath.Join(v.dir, "var-lib-hearth"), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(v.dir, "user-data.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fail := func(err error) error {
		fmt.Fprintf(log, "fakeec2: not booting %s: %v\n", id, err)
		return fmt.Errorf("fakeec2: not booting %s: %w", id, err)
	}
	_, subnet, _ := net.ParseCIDR(c.Subnet)
	if ip := net.ParseIP(addr); ip == nil || !subnet.Contains(ip) {
		return fail(fmt.Errorf("its private address %q is not in the fake's subnet %s (%s): launch it there", addr, c.Subnet, c.SubnetId))
	}
	attr, err := c.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameUserData})
	if err != nil {
		delete(c.vms, id) // try again at the next poll
		return fmt.Errorf("fakeec2: DescribeInstanceAttribute userData of %s in moto: %w", id, err)
	}
	var userData []byte
	if attr.UserData != nil && attr.UserData.Value != nil {
		if userData, err = base64.StdEncoding.DecodeString(*attr.UserData.Value); err != nil {
			return fail(fmt.Errorf("its user data is not base64: %w", err))
		}
	}
	script := filepath.Join(v.dir, "user-data")
	if err := os.WriteFile(script, userData, 0o700); err != nil {
		return fail(err)
	}
	if v.ns, err = c.nw.AddNamespace(ctx, id, addr); err != nil {
		return fail(err)
	}
	// EC2's IP-based host names, which the VPC's DNS resolves for every
	// address of the subnet: here a hosts file listing them all.
	hostname := "ip-" + strings.ReplaceAll(addr, ".", "-")
	hosts := filepath.Join(v.dir, "hosts")
	var names strings.Builder
	names.WriteString("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
	for ip := subnet.IP.Mask(subnet.Mask).To4(); subnet.Contains(ip); ip = nextIP(ip) {
		name := "ip-" + strings.ReplaceAll(ip.String(), ".", "-")
		fmt.Fprintf(&names, "%s %s %s.ec2.internal\n", ip, name, name)
	}
	if err := os.WriteFile(hosts, []byte(names.String()), 0o644); err != nil {
		return fail(err)
	}
	boot := fmt.Sprintf("set -e; hostname %s; mount --bind %s %s; mount --bind %s /etc/hosts; cd /; exec bash %s",
		quote(hostname), quote(filepath.Join(v.dir, "var-lib-hearth")), hearthDir, quote(hosts), quote(script))
	// Neither ip netns exec nor unshare (without --fork) forks: the pid is
	// the user data's bash.
	cmd := exec.Command("ip", "netns", "exec", v.ns, "unshare", "--mount", "--uts", "--propagation", "private", "/bin/sh", "-c", boot)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	go cmd.Wait()
	v.booted = true
	return nil
}

// powerOff kills every process in the instance's namespace and deletes
// the namespace; an instance not yet booted never will be.
func (c *Cloud) powerOff(id string) error {
	c.vmMu.Lock()
	defer c.vmMu.Unlock()
	v := c.vms[id]
	if v == nil {
		v = &vm{dir: filepath.Join(c.baseDir, "instances", id)}
		c.vms[id] = v
	}
	if v.off {
		return nil
	}
	if v.ns != "" {
		if err := c.nw.DeleteNamespace(v.ns); err != nil {
			return fmt.Errorf("fakeec2: powering %s off: %w", id, err)
		}
	}
	v.off = true
	return nil
}

// quote quotes s for sh.
// nextIP is the IPv4 address after ip.
func nextIP(ip net.IP) net.IP {
	next := make(net.IP, len(ip))
	copy(next, ip)
	for i := len(next) - 1; i >= 0; i-- {
		if next[i]++; next[i] != 0 {
			break
		}
	}
	return next
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(name string) string {
	b, _ := os.ReadFile(name)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
