// Package kafka is ecrm's one adapter to Kafka: topic set-up, producing and
// consuming, on top of github.com/segmentio/kafka-go. No other package
// imports kafka-go.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Config says where the cluster is and how ecrm's topics are laid out.
// The zero value is not valid: Brokers must be set.
type Config struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string
	// TopicPrefix is put before every topic name ("ecrm." by default) so that
	// several installations can share a cluster.
	TopicPrefix string
	// Partitions is the partition count of new topics (default 8).
	Partitions int
	// ReplicationFactor of new topics (default 1).
	ReplicationFactor int
	// HitsRetention is the retention of the hits and triggers topics
	// (default 7 days).
	HitsRetention time.Duration
}

// Defaults for Config.
const (
	DefaultTopicPrefix   = "ecrm."
	DefaultPartitions    = 8
	DefaultHitsRetention = 7 * 24 * time.Hour
)

// WithDefaults returns c with unset fields at their defaults.
func (c Config) WithDefaults() Config {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = 1
	}
	if c.HitsRetention == 0 {
		c.HitsRetention = DefaultHitsRetention
	}
	return c
}

// Validate reports whether the configuration can be used.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers configured")
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka: broker %q is not host:port", b)
		}
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		return fmt.Errorf("kafka: partitions %d out of range 1..1024", c.Partitions)
	}
	if c.ReplicationFactor < 1 {
		return fmt.Errorf("kafka: replication factor %d below 1", c.ReplicationFactor)
	}
	if strings.ContainsAny(c.TopicPrefix, " /\\") {
		return fmt.Errorf("kafka: topic prefix %q holds a space or slash", c.TopicPrefix)
	}
	return nil
}

// Topics holds the full names of ecrm's topics.
type Topics struct {
	Hits, Profiles, Identities, Triggers, Stats, Config string
	// State is the profiler's changelog: each partition holds the state of
	// the hits partition with the same number, so that a member taking the
	// partition over can rebuild it.
	State string
	// Catalog holds the imported items (compacted): key the item id, value
	// the item's JSON, a tombstone its removal.
	Catalog string
}

// Topics returns the topic names under the configured prefix.
func (c Config) Topics() Topics {
	p := c.WithDefaults().TopicPrefix
	return Topics{
		Hits:       p + "hits",
		Profiles:   p + "profiles",
		Identities: p + "identities",
		Triggers:   p + "triggers",
		Stats:      p + "stats",
		Config:     p + "config",
		State:      p + "profiler-state",
		Catalog:    p + "catalog",
	}
}

// Message is one Kafka record as ecrm sees it.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte // nil is a tombstone
	Headers   []Header
	Time      time.Time

	buf *[]byte // of the pool, holding Key and Value (NewPooled)
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

func toKafka(m Message) kafkago.Message {
	km := kafkago.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Time: m.Time}
	for _, h := range m.Headers {
		km.Headers = append(km.Headers, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	return km
}

func fromKafka(km kafkago.Message) Message {
	m := Message{Topic: km.Topic, Partition: km.Partition, Offset: km.Offset, Key: km.Key, Value: km.Value, Time: km.Time}
	for _, h := range km.Headers {
		m.Headers = append(m.Headers, Header{Key: h.Key, Value: h.Value})
	}
	return m
}

// client returns a kafka-go admin client for the first reachable broker,
// and the function that closes its connections once it is no longer used
// (a transport keeps them open otherwise).
func client(cfg Config) (*kafkago.Client, func()) {
	tr := &kafkago.Transport{MetadataTTL: time.Second, DialTimeout: 3 * time.Second}
	return &kafkago.Client{
		Addr:      kafkago.TCP(cfg.Brokers...),
		Timeout:   10 * time.Second,
		Transport: tr,
	}, tr.CloseIdleConnections
}

// EnsureTopics creates ecrm's topics where they are missing (the compacted
// ones with cleanup.policy=compact) and waits until the cluster's metadata
// shows every one of them with a leader for each partition.
func EnsureTopics(ctx context.Context, cfg Config) error {
	cfg = cfg.WithDefaults()
	t := cfg.Topics()
	retention := fmt.Sprint(cfg.HitsRetention.Milliseconds())
	compact := []kafkago.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
	timed := []kafkago.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "delete"}, {ConfigName: "retention.ms", ConfigValue: retention}}
	specs := []kafkago.TopicConfig{
		{Topic: t.Hits, ConfigEntries: timed},
		{Topic: t.Profiles, ConfigEntries: compact},
		{Topic: t.Identities, ConfigEntries: compact},
		{Topic: t.Triggers, ConfigEntries: timed},
		{Topic: t.Stats, ConfigEntries: compact},
		{Topic: t.Config, ConfigEntries: compact},
		{Topic: t.Catalog, ConfigEntries: compact},
		{Topic: t.State, ConfigEntries: append(compact[:1:1], kafkago.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(MaxAppendBytes)})},
	}
	names := make([]string, len(specs))
	for i := range specs {
		specs[i].NumPartitions = cfg.Partitions
		specs[i].ReplicationFactor = cfg.ReplicationFactor
		names[i] = specs[i].Topic
	}
	c, done := client(cfg)
	defer done()
	res, err := c.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: specs})
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for name, terr := range res.Errors {
		if terr != nil && !errors.Is(terr, kafkago.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, terr)
		}
	}
	for {
		md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: names})
		if err == nil && topicsReady(md, names) {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("topics have no leader yet")
			}
			return fmt.Errorf("wait for topics: %w (%w)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicsReady(md *kafkago.MetadataResponse, names []string) bool {
	seen := 0
	for _, t := range md.Topics {
		if t.Error != nil || len(t.Partitions) == 0 {
			return false
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
		seen++
	}
	return seen == len(names)
}

// Partitions returns the partition count of topic.
func Partitions(ctx context.Context, cfg Config, topic string) (int, error) {
	c, done := client(cfg)
	defer done()
	return partitions(ctx, c, topic)
}

func partitions(ctx context.Context, c *kafkago.Client, topic string) (int, error) {
	md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name == topic {
			if t.Error != nil {
				return 0, fmt.Errorf("metadata of %s: %w", topic, t.Error)
			}
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("metadata of %s: topic not found", topic)
}

// Ping reports whether a broker of the cluster answers a metadata request.
func Ping(ctx context.Context, cfg Config) error {
	c, done := client(cfg)
	defer done()
	_, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("ping kafka: %w", err)
	}
	return nil
}

// EndOffsets returns, for each partition of topic, the offset the next
// record will get (the high watermark): a reader that has handled every
// offset below it has caught up.
func EndOffsets(ctx context.Context, cfg Config, topic string) (map[int]int64, error) {
	c, done := client(cfg)
	defer done()
	return endOffsets(ctx, c, topic)
}

// Offsets asks a cluster for end offsets over one pool of connections, for
// callers that ask often. It is safe for concurrent use.
type Offsets struct {
	c    *kafkago.Client
	done func()
}

// NewOffsets returns an Offsets of cfg's cluster; Close releases its
// connections.
func NewOffsets(cfg Config) *Offsets {
	c, done := client(cfg)
	return &Offsets{c: c, done: done}
}

// End is EndOffsets.
func (o *Offsets) End(ctx context.Context, topic string) (map[int]int64, error) {
	return endOffsets(ctx, o.c, topic)
}

// Close closes the connections; a later End opens new ones.
func (o *Offsets) Close() { o.done() }

func endOffsets(ctx context.Context, c *kafkago.Client, topic string) (map[int]int64, error) {
	n, err := partitions(ctx, c, topic)
	if err != nil {
		return nil, err
	}
	reqs := make([]kafkago.OffsetRequest, n)
	for p := range n {
		reqs[p] = kafkago.LastOffsetOf(p)
	}
	res, err := c.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := make(map[int]int64, n)
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}
