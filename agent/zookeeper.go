package agent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// A master node of a highly available cluster runs one server of the
// ZooKeeper ensemble that elects the active Spark master. The ensemble
// takes only authenticated clients and peers (SASL DIGEST-MD5, with a
// password derived from the cluster's Spark secret): the masters keep their
// recovery state there as serialized Java objects, which nobody else may
// write.

// Timing of the ensemble. A Spark master asks for a 60 s session; the
// servers cap it at zkMaxSession, which bounds how long a dead active
// master holds its leadership.
const (
	zkTickMillis       = 1000
	zkMaxSessionMillis = 10000
)

// zooKeeperPassword is the ensemble's password, derived from the cluster's
// Spark secret so the plan carries no other credential.
func zooKeeperPassword(authSecret string) string {
	m := hmac.New(sha256.New, []byte(authSecret))
	m.Write([]byte("hearth zookeeper"))
	return hex.EncodeToString(m.Sum(nil))
}

// writeZooKeeper writes this node's ZooKeeper server configuration under
// <node>/zookeeper and its credentials into the node's private conf
// directory. It returns the paths ZooKeeperCommand wants.
func (a *Agent) writeZooKeeper(host string, zk hearth.ZooKeeperPlan, authSecret string) (config, jaas, log4j string, err error) {
	dir := filepath.Join(a.cfg.Dir, "zookeeper")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(filepath.Join(data, "myid"), fmt.Appendf(nil, "%d\n", zk.Id), 0o644); err != nil {
		return "", "", "", err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `# Written by the Hearth agent: this node's server of the cluster's ZooKeeper ensemble.
tickTime=%d
initLimit=30
syncLimit=10
dataDir=%s
clientPort=%d
clientPortAddress=%s
minSessionTimeout=%d
maxSessionTimeout=%d
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
admin.enableServer=false
4lw.commands.whitelist=ruok
authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
enforce.auth.enabled=true
enforce.auth.schemes=sasl
sessionRequireClientSASLAuth=true
quorum.auth.enableSasl=true
quorum.auth.learnerRequireSasl=true
quorum.auth.serverRequireSasl=true
`, zkTickMillis, data, zk.Port, host, 2*zkTickMillis, zkMaxSessionMillis)
	for _, s := range zk.Servers {
		fmt.Fprintf(&cfg, "server.%d=%s:%d:%d\n", s.Id, s.Host, s.PeerPort, s.ElectionPort)
	}
	config = filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o644); err != nil {
		return "", "", "", err
	}
	log4j = filepath.Join(dir, "log4j2.properties")
	if err := os.WriteFile(log4j, []byte(zkLog4j), 0o644); err != nil {
		return "", "", "", err
	}
	pw := zooKeeperPassword(authSecret)
	jaas = filepath.Join(a.dirs.Conf, "zookeeper-jaas.conf")
	body := fmt.Sprintf(`Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_spark="%[1]s";
};
QuorumServer {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_quorum="%[1]s";
};
QuorumLearner {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="quorum"
  password="%[1]s";
};
Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="spark"
  password="%[1]s";
};
`, pw)
	if err := spark.WritePrivate(jaas, []byte(body)); err != nil {
		return "", "", "", err
	}
	return config, jaas, log4j, nil
}

// zkLog4j keeps a server's log to what matters: warnings, and the role it
// takes in each election.
const zkLog4j = `rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.peer.name = org.apache.zookeeper.server.quorum.QuorumPeer
logger.peer.level = info
`
