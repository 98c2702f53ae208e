// Package broker runs the embedded Kafka-protocol broker used by `ecrm run`
// on one machine: github.com/twmb/franz-go/pkg/kfake with a data directory,
// so the log survives restarts, listening on an address any Kafka tool
// (kcat, kafka-console-consumer) can reach.
package broker

import (
	"fmt"
	"net"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running embedded broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a single-node broker listening on addr (host:port; port 0
// picks a free one) with its log in dir, reloading what dir already holds.
func Start(addr, dir string) (*Broker, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("broker data dir: %w", err)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(dir),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, addr)
		}),
		kfake.ClusterID("ecrm-embedded"),
	)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", addr, err)
	}
	return &Broker{c: c}, nil
}

// Addr returns the host:port the broker listens on.
func (b *Broker) Addr() string { return b.c.ListenAddrs()[0] }

// Close stops the broker and writes its state to the data directory.
func (b *Broker) Close() { b.c.Close() }
