package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StreamEventsToken stands, in the compiled SQL of a stream model, for the
// relation of the events a micro-batch works on: its source() of a stream
// source renders as this token, and the runner substitutes the name of the
// batch's events table.
const StreamEventsToken = "__ELT_STREAM_EVENTS__"

// IsStream reports whether n is a stream model.
func (n *Node) IsStream() bool {
	return n.ResourceType == Model && n.Config.Materialized == "stream"
}

// IsStreamSource reports whether n is a stream source.
func (n *Node) IsStreamSource() bool {
	return n.ResourceType == Source && n.Source != nil && n.Source.Stream != nil
}

// watermarkUnits maps the unit words a watermark may use to their length.
var watermarkUnits = map[string]time.Duration{
	"second": time.Second, "seconds": time.Second, "sec": time.Second, "secs": time.Second, "s": time.Second,
	"minute": time.Minute, "minutes": time.Minute, "min": time.Minute, "mins": time.Minute, "m": time.Minute,
	"hour": time.Hour, "hours": time.Hour, "h": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour, "d": 24 * time.Hour,
}

// ParseWatermark reads a watermark written as SQL intervals are ("20
// minutes", "1 hour") or as a Go duration ("90s", "1h30m"). It must be
// positive.
func ParseWatermark(s string) (time.Duration, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	bad := fmt.Errorf("watermark %q is not a duration — write it like '20 minutes', '1 hour' or '90s'", s)
	var d time.Duration
	if num, unit, ok := strings.Cut(t, " "); ok {
		n, err := strconv.ParseFloat(num, 64)
		u, known := watermarkUnits[strings.TrimSpace(unit)]
		if err != nil || !known {
			return 0, bad
		}
		d = time.Duration(n * float64(u))
	} else {
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("watermark %q must be positive", s)
	}
	return d, nil
}
