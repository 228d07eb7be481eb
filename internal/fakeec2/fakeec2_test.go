//go:build integration && linux

package fakeec2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

const al2023 = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

func TestCloud(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Logf("Start: %v; endpoint %s, %s %s %s, gateway %s", time.Since(began), c.Endpoint, c.VPCId, c.SubnetId, c.Subnet, c.GatewayIP)

	// As the code under test would make its client: the SDK's defaults
	// (retries included), static credentials, the proxy as the endpoint.
	client := ec2.NewFromConfig(aws.Config{
		Region:      c.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  &http.Client{},
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(c.Endpoint) })
	code := func(err error) string {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return apiErr.ErrorCode()
		}
		return fmt.Sprint(err)
	}

	// Security groups, one's ingress referring to the other.
	workers, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("workers"), Description: aws.String("workers"), VpcId: aws.String(c.VPCId)})
	if err != nil {
		t.Fatal(err)
	}
	control, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("control"), Description: aws.String("control"), VpcId: aws.String(c.VPCId)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: workers.GroupId, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(7000), ToPort: aws.Int32(7100), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: control.GroupId}, {GroupId: workers.GroupId}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String(c.GatewayIP + "/32")}}},
	}}); err != nil {
		t.Fatal(err)
	}
	sgs, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*workers.GroupId}})
	if err != nil || len(sgs.SecurityGroups) != 1 || len(sgs.SecurityGroups[0].IpPermissions) != 2 {
		t.Fatalf("DescribeSecurityGroups: %+v %v", sgs, err)
	}
	// DryRun.
	if _, err := client.RunInstances(ctx, &ec2.RunInstancesInput{DryRun: aws.Bool(true), ImageId: aws.String(al2023), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); code(err) != "DryRunOperation" {
		t.Errorf("RunInstances with DryRun: %v, want DryRunOperation", err)
	}
	for _, r := range c.Requests() {
		for k, v := range r.Params {
			if strings.HasPrefix(k, "IpPermissions.") && slices.Contains(v, "0.0.0.0/0") {
				t.Errorf("%s has %s=0.0.0.0/0", r.Action, k)
			}
		}
	}

	// Two instances, one of them spot.
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho booted $(hostname) > /var/lib/hearth/marker; exec sleep 300\n"))
	run := func(name string, spot bool) (string, error) {
		in := &ec2.RunInstancesInput{
			ImageId: aws.String(al2023), InstanceType: types.InstanceTypeM5Large, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(c.SubnetId), SecurityGroupIds: []string{*workers.GroupId}, UserData: aws.String(userData),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}},
		}
		if spot {
			in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot,
				SpotOptions: &types.SpotMarketOptions{SpotInstanceType: types.SpotInstanceTypeOneTime, InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}}
		}
		out, err := client.RunInstances(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Instances[0].InstanceId), nil
	}
	began = time.Now()
	spot, err := run("spot", true)
	if err != nil {
		t.Fatal(err)
	}
	onDemand, err := run("on-demand", false)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{spot, onDemand}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := 0
		for _, id := range ids {
			if b, err := os.ReadFile(c.HearthDir(id) + "/marker"); err == nil && strings.HasPrefix(string(b), "booted ip-") {
				n++
			}
		}
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances not booted after 30s; instances: %v", must(c.Instances(ctx)))
		}
	}
	t.Logf("RunInstances to both user data's markers: %v", time.Since(began))
	if _, err := os.Stat(hearthDir + "/marker"); err == nil {
		t.Errorf("%s/marker in the root namespace", hearthDir)
	}
	insts, err := c.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, subnet, _ := net.ParseCIDR(c.Subnet)
	byID := map[string]Instance{}
	for _, i := range insts {
		byID[i.Id] = i
	}
	for _, id := range ids {
		i := byID[id]
		wantMarket, wantName := "", "on-demand"
		if id == spot {
			wantMarket, wantName = "spot", "spot"
		}
		if i.State != "running" || !i.Booted || i.Market != wantMarket || i.Tags["Name"] != wantName || i.InstanceType != "m5.large" || !subnet.Contains(net.ParseIP(i.PrivateIP)) {
			t.Errorf("instance %s: %+v", id, i)
		}
		if out, err := c.Exec(ctx, id, "ip", "-4", "-o", "addr", "show", "dev", "eth0"); err != nil || !strings.Contains(string(out), " "+i.PrivateIP+"/") {
			t.Errorf("%s's eth0: %s %v, want %s", id, out, err, i.PrivateIP)
		}
		hostname := "ip-" + strings.ReplaceAll(i.PrivateIP, ".", "-")
		if out, err := c.Exec(ctx, id, "hostname"); err != nil || strings.TrimSpace(string(out)) != hostname {
			t.Errorf("%s's hostname: %q %v, want %s", id, out, err, hostname)
		}
		// It resolves to the instance's address, as the VPC's DNS does.
		if out, err := c.Exec(ctx, id, "getent", "hosts", hostname); err != nil || !strings.HasPrefix(string(out), i.PrivateIP+" ") {
			t.Errorf("%s resolves %s to %q %v, want %s", id, hostname, out, err, i.PrivateIP)
		}
		if out, err := c.Exec(ctx, id, "ip", "route"); err != nil || strings.Contains(string(out), "default") {
			t.Errorf("%s's routes: %s %v", id, out, err)
		}
		if out, err := c.Exec(ctx, id, "cat", "/var/lib/hearth/marker"); err != nil || string(out) != "booted ip-"+strings.ReplaceAll(i.PrivateIP, ".", "-")+"\n" {
			t.Errorf("%s's /var/lib/hearth/marker: %q %v", id, out, err)
		}
		if len(c.Processes(id)) == 0 {
			t.Errorf("%s has no processes", id)
		}
	}

	// An instance reaches the gateway.
	ln, err := net.Listen("tcp", net.JoinHostPort(c.GatewayIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer conn.Close()
		line, _ := bufio.NewReader(conn).ReadString('\n')
		got <- conn.RemoteAddr().(*net.TCPAddr).IP.String() + " " + line
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	if out, err := c.Exec(ctx, spot, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d; echo hello >&3", c.GatewayIP, port)); err != nil {
		t.Errorf("connecting to the gateway: %s %v", out, err)
	}
	if g := <-got; g != byID[spot].PrivateIP+" hello\n" {
		t.Errorf("the gateway got %q", g)
	}

	// FailNext fails the next call, retries included, and not the one after.
	c.FailNext("RunInstances", "InsufficientInstanceCapacity", "We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a).")
	before := len(c.Requests())
	began = time.Now()
	if _, err := run("refused", false); code(err) != "InsufficientInstanceCapacity" {
		t.Errorf("RunInstances after FailNext: %v, want InsufficientInstanceCapacity", err)
	}
	t.Logf("RunInstances failed with InsufficientInstanceCapacity in %v, after %d attempts", time.Since(began), len(c.Requests())-before)
	third, err := run("third", false)
	if err != nil {
		t.Fatalf("RunInstances after a failed one: %v", err)
	}
	ids = append(ids, third)

	// Interrupt: processes gone at once, instance terminated.
	pids := map[string][]int{}
	for _, id := range ids[:2] {
		pids[id] = c.Processes(id)
	}
	began = time.Now()
	if err := c.Interrupt(ctx, spot); err != nil {
		t.Fatal(err)
	}
	t.Logf("Interrupt: %v", time.Since(began))
	if p := c.Processes(spot); len(p) != 0 {
		t.Errorf("processes of %s after Interrupt: %v", spot, p)
	}
	assertDead(t, pids[spot])
	if i := find(must(c.Instances(ctx)), spot); i.State != "terminated" {
		t.Errorf("%s after Interrupt: %+v", spot, i)
	}

	// TerminateInstances: the booter powers them off.
	began = time.Now()
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{onDemand, third}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(c.Processes(onDemand))+len(c.Processes(third)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("processes after TerminateInstances: %v %v", c.Processes(onDemand), c.Processes(third))
		}
	}
	t.Logf("TerminateInstances to no processes: %v", time.Since(began))
	assertDead(t, pids[onDemand])
	if _, err := client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: control.GroupId}); err != nil {
		t.Logf("DeleteSecurityGroup of a group another refers to: %v", err)
	}
	if _, err := client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: workers.GroupId}); err != nil {
		t.Errorf("DeleteSecurityGroup: %v", err)
	}

	var actions []string
	for _, r := range c.Requests() {
		actions = append(actions, r.Action)
		if r.Action == "RunInstances" && r.Params.Get("InstanceMarketOptions.MarketType") == "spot" && r.Params.Get("SubnetId") != c.SubnetId {
			t.Errorf("RunInstances params: %v", r.Params)
		}
	}
	t.Logf("requests: %v", actions)

	// Close leaves nothing.
	id := strings.TrimSuffix(c.Bridge, "br")
	motoPid := c.moto.Process.Pid
	began = time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close: %v", time.Since(began))
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	netns, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	links, _ := exec.Command("ip", "-o", "link").CombinedOutput()
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for what, out := range map[string][]byte{"ip netns list": netns, "ip link": links, "mountinfo": mounts} {
		if bytes.Contains(out, []byte(id)) {
			t.Errorf("%s still shows %s:\n%s", what, id, out)
		}
	}
	assertDead(t, append(pids[onDemand], motoPid))
	if _, err := http.Get(c.Endpoint); err == nil {
		t.Error("the proxy still answers")
	}
}

func assertDead(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !bytes.Contains(b, []byte(") Z ")) {
			t.Errorf("process %d lives: %s", pid, b)
		}
	}
}

func find(insts []Instance, id string) Instance {
	for _, i := range insts {
		if i.Id == id {
			return i
		}
	}
	return Instance{}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
