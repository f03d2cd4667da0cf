package project

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// streamSource parses a source table's stream: block:
//
//	stream: {path: data/landing/purchases/*.jsonl, settle: 500ms, max_files: 1000}
//	stream: {kafka: {brokers: [host:9092], topic: purchases}, format: json}
func (c *fileCtx) streamSource(n *yaml.Node, table string) *StreamSource {
	m := c.asMap(n, `"stream"`, false)
	if m == nil {
		return nil
	}
	where := "stream of " + table
	m.check(where, "path", "kafka", "format", "settle", "max_files")
	s := &StreamSource{
		Path:     m.str("path"),
		Format:   strings.ToLower(m.str("format")),
		Settle:   m.str("settle"),
		MaxFiles: m.integer("max_files", 0),
		Pos:      c.pos(n),
	}
	if kn := m.get("kafka"); !isNull(kn) {
		km := c.asMap(kn, `"kafka"`, false)
		if km != nil {
			km.check("kafka of "+where, "brokers", "topic")
			s.Kafka = &KafkaSource{Brokers: km.strList("brokers"), Topic: km.str("topic"), Pos: c.pos(kn)}
			if km.required("brokers", "kafka of "+where) != nil && len(s.Kafka.Brokers) == 0 {
				c.errorf(km.get("brokers"), "kafka of %s lists no brokers — add brokers: [host:9092]", where)
			}
			km.required("topic", "kafka of "+where)
		}
	}
	switch {
	case s.Path == "" && s.Kafka == nil:
		c.errorf(n, "%s needs path: (a landing folder glob) or kafka: {brokers, topic}", where)
	case s.Path != "" && s.Kafka != nil:
		c.errorf(n, "%s has both path: and kafka: — a stream reads one of them", where)
	}
	if s.Format != "" && !contains(formats, s.Format) {
		c.errorf(m.get("format"), "format %q of %s is not one of csv, json, parquet%s", s.Format, where, didYouMean(s.Format, formats))
	}
	if s.Format == "" {
		if s.Kafka != nil {
			s.Format = "json"
		} else if s.Path != "" {
			if s.Format = formatOf(s.Path); s.Format == "" {
				c.errorf(m.get("path"), "cannot tell the format of %q from its extension — add format: csv, json or parquet", s.Path)
			}
		}
	}
	if s.Kafka != nil && s.Format != "json" {
		c.errorf(m.get("format"), "%s reads Kafka, whose values must be JSON — use format: json", where)
	}
	if s.Settle != "" {
		if d, err := time.ParseDuration(s.Settle); err != nil || d < 0 {
			c.errorf(m.get("settle"), "settle %q of %s is not a duration — write it like 500ms or 2s", s.Settle, where)
		}
		if s.Kafka != nil {
			c.errorf(m.get("settle"), "settle applies to landing folders, not to kafka: — remove it")
		}
	}
	if s.MaxFiles < 0 {
		c.errorf(m.get("max_files"), "max_files of %s must be positive, got %d", where, s.MaxFiles)
	}
	return s
}
