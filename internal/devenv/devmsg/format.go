package devmsg

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// FormatAddress renders a wire address as Service.target (or Service when there is no
// target).
func FormatAddress(a wire.Address) string {
	if a.ServiceTarget == "" {
		return a.ServiceName
	}
	return a.ServiceName + "." + a.ServiceTarget
}

// FormatRecord renders a record event as
// "command User.signUp → Email.sendWelcome 200 1.2ms trace=…".
func FormatRecord(e runtime.Event) string {
	r := e.Record
	to := FormatAddress(r.To)
	if r.Kind == "event" || r.EventName != "" && r.To.ServiceName == "" {
		to = "event " + r.EventName
	}
	s := fmt.Sprintf("%s %s → %s %d %s", r.Kind, FormatAddress(r.From), to, r.Status, Round(r.Latency))
	if r.TraceID != "" {
		s += " trace=" + r.TraceID
	}
	if r.Error != "" {
		s += " error=" + r.Error
	}
	return s
}

// FormatAttrs renders log attributes as " key=value…", sorted by key, without the
// service attribute.
func FormatAttrs(attrs map[string]any) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if k != "service" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, formatAttr(k, attrs[k]))
	}
	return b.String()
}

// durationKeyRE matches attribute keys that name a duration: the word alone or as the
// last part of the key ("timeout", "took", "retryDelay", "grace_period", "http.latency").
var durationKeyRE = func() *regexp.Regexp {
	words := []string{"timeout", "duration", "took", "elapsed", "latency", "grace", "interval", "delay", "wait", "ttl", "backoff", "period"}
	camel := make([]string, len(words))
	for i, w := range words {
		camel[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	lower := strings.Join(words, "|")
	return regexp.MustCompile(`(?:(?:^|[_.\-])(?i:` + lower + `)|[a-z0-9](?:` + strings.Join(camel, "|") + `|` + strings.ToUpper(lower) + `))$`)
}()

// formatAttr renders one log attribute. The event stream carries a slog time.Duration
// as its nanoseconds (a JSON number), so a whole number under a duration-like key is
// shown as a Go duration ("15s", not "1.5e+10"); other whole numbers print as integers.
func formatAttr(key string, v any) string {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return fmt.Sprint(v)
	}
	if durationKeyRE.MatchString(key) {
		return time.Duration(int64(f)).String()
	}
	return strconv.FormatInt(int64(f), 10)
}

// Round shortens a duration for display.
func Round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
