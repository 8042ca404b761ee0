package traces

import (
	"os"
	"strings"
)

// userExportVars are the variables with which a user sends spans somewhere themselves.
func userExportVars() []string {
	return []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"}
}

// UserConfigured returns the first OTEL_* variable of the environment read by getenv
// (nil: os.Getenv) that decides where spans go or whether there are any — an OTLP
// endpoint, OTEL_TRACES_EXPORTER or OTEL_SDK_DISABLED — by its name (its value may hold
// credentials), or "" when there is none. `purista dev` keeps such a setting and turns its trace view off.
func UserConfigured(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range userExportVars() {
		if strings.TrimSpace(getenv(k)) != "" {
			return k
		}
	}
	return ""
}

// Env returns the environment that makes a purista application export its spans to
// the receiver at endpoint (Receiver.Endpoint) promptly: OTLP over http/protobuf to
// <endpoint>/v1/traces, batches sent every 100 ms. Only the traces endpoint is set, so
// that other OTLP signals of the application are not sent to the receiver.
func Env(endpoint string) []string {
	return []string{
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + endpoint + "/v1/traces",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=100",
	}
}
