package spark

import (
	"path/filepath"
)

// ZooKeeperMain is the class of a ZooKeeper ensemble member. Spark ships
// ZooKeeper's jars (its masters use them as clients), so a distribution
// runs the servers of a highly available cluster too: 3.9 with Spark 4.0,
// 3.6 with Spark 3.5.
const ZooKeeperMain = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

// ZooKeeperCommand runs a ZooKeeper server from the distribution's jars
// with java, configured by the zoo.cfg at config. jaas is the JAAS file
// holding the ensemble's credentials and log4j its logging configuration.
// The heap is small: the ensemble holds a few masters' recovery state.
func (d Distribution) ZooKeeperCommand(java, config, jaas, log4j string) Command {
	return Command{Args: []string{java,
		"-Xmx128m", "-XX:+UseSerialGC",
		"-Djava.security.auth.login.config=" + jaas,
		"-Dlog4j2.configurationFile=" + log4j,
		"-Dzookeeper.jmx.log4j.disable=true",
		"-cp", filepath.Join(d.Home, "jars", "*"),
		ZooKeeperMain, config,
	}}
}
