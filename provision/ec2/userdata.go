package ec2

import (
	"fmt"
	"path"
	"strings"
)

// Root is where a node keeps its files on its instance.
const Root = "/var/lib/hearth"

// NodeDir is node id's directory on its instance.
func NodeDir(id string) string { return path.Join(Root, "nodes", id) }

// UserData is the script an instance runs at boot (cloud-init runs it as
// root): Java if it is missing, the hearth binary from the control plane at
// serverURL over TLS with only the control plane's CA trusted, then the
// agent, detached. The launch credential is in it (user data is readable
// from the instance's metadata service): the agent's first registration
// spends it and gets a credential that lives only in the agent's memory.
func UserData(serverURL string, caPEM []byte, nodeID, credential string) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	dir := NodeDir(nodeID)
	return fmt.Sprintf(`#!/bin/bash
# Hearth node %[1]s: Java, the hearth agent from the control plane, started.
set -euo pipefail
umask 077
mkdir -p %[2]s/runtime %[3]s
cd %[2]s
cat > ca.pem <<'HEARTH_CA'
%[4]sHEARTH_CA
cat > %[3]s/agent.env <<'HEARTH_ENV'
HEARTH_SERVER=%[5]s
HEARTH_NODE_ID=%[1]s
HEARTH_AGENT_TOKEN=%[6]s
HEARTH_CA_FILE=%[2]s/ca.pem
HEARTH_RUNTIME_DIR=%[2]s/runtime
HEARTH_ENV
if ! command -v java >/dev/null 2>&1; then
  echo "hearth: installing Java 17" >&2
  if command -v dnf >/dev/null 2>&1; then dnf install -y java-17-amazon-corretto-headless
  elif command -v yum >/dev/null 2>&1; then yum install -y java-17-amazon-corretto-headless
  elif command -v apt-get >/dev/null 2>&1; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless
  fi
fi
curl -fsS --connect-timeout 10 --retry 60 --retry-delay 2 --retry-all-errors --cacert ca.pem \
  -H "Authorization: Bearer $(sed -n 's/^HEARTH_AGENT_TOKEN=//p' %[3]s/agent.env)" -H "X-Hearth-Node: %[1]s" \
  -o hearth.part %[7]s
chmod 0755 hearth.part && mv hearth.part hearth
cd %[3]s
setsid %[2]s/hearth agent --env-file agent.env </dev/null >>agent.log 2>&1 &
`, nodeID, Root, dir, string(caPEM), serverURL, credential, q(strings.TrimRight(serverURL, "/")+"/agent/v1/binary"))
}
