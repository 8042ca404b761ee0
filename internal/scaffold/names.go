package scaffold

import (
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"slices"
	"strings"
	"unicode"
)

// ErrInvalidInput is wrapped by every error about a name, version, module path or option
// the user gave; the CLI reports it as a usage error. Each message shows an accepted
// example.
var ErrInvalidInput = errors.New("invalid input")

// BridgeKinds returns the accepted values of `purista new --bridge`.
func BridgeKinds() []string { return []string{"memory", "nats", "amqp", "mqtt"} }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

// isIdent reports whether s is a Go identifier made of ASCII letters and digits (and,
// when underscore is true, '_'), starting with a letter.
func isIdent(s string, underscore bool) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r < unicode.MaxASCII && unicode.IsLetter(r):
		case i > 0 && r >= '0' && r <= '9':
		case i > 0 && underscore && r == '_':
		default:
			return false
		}
	}
	return true
}

// ValidateProjectName checks a project name: a Go identifier (it names the binary,
// the folder and, by default, the module) that is not a Go keyword.
func ValidateProjectName(name string) error {
	if !isIdent(name, true) || token.IsKeyword(name) {
		return invalid("project name %q is not a Go identifier: use letters, digits and _, starting with a letter, e.g. \"shop\"", name)
	}
	return nil
}

// ValidateServiceName checks a service name: ASCII letters and digits, starting with a
// letter, e.g. "Billing". It names the service on the bridge and its packages, which live
// in services/<lower-cased name>; names whose folder the go tool treats specially
// (internal, vendor, testdata) are refused with a suggestion.
func ValidateServiceName(name string) error {
	if !isIdent(name, false) {
		return invalid("service name %q is not valid: use letters and digits, starting with a letter, e.g. \"Billing\"", name)
	}
	why := map[string]string{
		"internal": "makes importable only from inside services/, so main.go could not import it",
		"vendor":   "reserves for vendored packages, so main.go could not import it",
		"testdata": "skips in ./..., so go vet and go test would never see it",
	}[strings.ToLower(name)]
	if why != "" {
		return invalid("service name %q would put its packages in services/%s, a folder Go %s: choose another, e.g. %q",
			name, strings.ToLower(name), why, name+"Service")
	}
	return nil
}

// ValidateCommandName checks a command or subscription name (what is "command" or
// "subscription"): letters and digits, starting with a letter, e.g. "sendInvoice". It
// refuses, with a suggestion, every name whose generated code would not build, vet or
// test: a Go keyword or predeclared identifier once its first letter is lower-cased
// (handlers are named so), init and main, names that clash with the declarations and
// files every generated service has (New, Contract, framework; ServiceName and Version,
// which services generated before the Contract value have; service.go,
// contract.go), names whose file would be a test file or carry a build constraint
// (…Test → …_test.go, …Linux → …_linux.go), and names that start with two capitals
// (CHARGE would become the wire name "cHARGE" and the file c_harge.go), and handler names
// that clash with a package the generated files import, with New's service variable svc,
// or (subscriptions) with a variable of the generated test that calls the handler.
func ValidateCommandName(what, name string) error {
	ex := "sendInvoice"
	if what == "subscription" {
		ex = "onInvoiceSent"
	}
	if !isIdent(name, false) {
		return invalid("%s name %q is not valid: use letters and digits, starting with a letter, e.g. %q", what, name, ex)
	}
	if len(name) > 1 && unicode.IsUpper(rune(name[0])) && unicode.IsUpper(rune(name[1])) {
		return invalid("%s name %q starts with two capitals, which would give the wire name %q: use camel case, e.g. %q", what, name, lowerFirst(name), suggestCamel(name))
	}
	handler, ident := lowerFirst(name), upperFirst(name)
	switch {
	case token.IsKeyword(handler):
		return invalid("%s name %q is a Go keyword once its first letter is lower-cased (its handler is named %s): choose another, e.g. %q", what, name, handler, handler+"Item")
	case types.Universe.Lookup(handler) != nil:
		return invalid("%s name %q is a predeclared Go identifier once lower-cased (%s): its handler would shadow it; choose another, e.g. %q", what, name, handler, handler+"Value")
	case handler == "init" || handler == "main":
		return invalid("%s name %q would name a handler func %s, which Go reserves: choose another, e.g. %q", what, name, handler, handler+"Service")
	case ident == "New" || ident == "Contract" || ident == "ServiceName" || ident == "Version" || handler == "framework":
		return invalid("%s name %q clashes with a declaration every generated service has (%s): choose another, e.g. %q", what, name, ident, "create"+ident)
	case slices.Contains(generatedImports(), handler):
		return invalid("%s name %q would name its handler %s, which the generated files use as a package name: choose another, e.g. %q", what, name, handler, handler+"Handler")
	case handler == "svc":
		return invalid("%s name %q would name its handler svc, the service variable of New where it is registered: choose another, e.g. %q", what, name, handler+"Handler")
	case what == "subscription" && slices.Contains([]string{"t", "c", "tt", "tests"}, handler):
		return invalid("%s name %q would name its handler %s, a variable of the generated test that calls the handler: choose another, e.g. %q", what, name, handler, handler+"Handler")
	}
	file := snake(name)
	if file == "service" || file == "contract" {
		return invalid("%s name %q would write %s.go, which every generated service already has: choose another, e.g. %q", what, name, file, file+"Info")
	}
	if i := strings.LastIndexByte(file, '_'); i >= 0 {
		if suffix := file[i+1:]; suffix == "test" || isOSArch(suffix) {
			kind := "a test file"
			if suffix != "test" {
				kind = "a file built for " + suffix + " only"
			}
			return invalid("%s name %q would write %s.go, which Go treats as %s: choose another, e.g. %q", what, name, file,
				kind, lowerFirst(name[:len(name)-len(suffix)])+"Check")
		}
	}
	return nil
}

// generatedImports are the package names the generated handler and test files import
// besides contract packages; a handler of the same name would clash with the import.
func generatedImports() []string {
	return []string{"framework", "frameworktest", "testing", "wire", "json"}
}

// isOSArch reports whether s is a GOOS or GOARCH value: as the last _-separated part of a
// file name it makes the file build only there.
func isOSArch(s string) bool {
	switch s {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
		"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
		"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
		"ppc64", "ppc64le", "riscv64", "s390x", "sparc64", "wasm":
		return true
	}
	return false
}

// suggestCamel turns a name that starts with capitals into camel case ("CHARGE" →
// "charge", "HTTPCall" → "httpCall").
func suggestCamel(name string) string {
	i := 0
	for i < len(name) && unicode.IsUpper(rune(name[i])) {
		i++
	}
	if i < len(name) && i > 1 { // "HTTPCall": the last capital starts the next word
		i--
	}
	return strings.ToLower(name[:i]) + name[i:]
}

// ValidateEventName checks an event name: letters, digits and _, starting with a letter,
// e.g. "invoiceSent". Event names are kept as given (they must match other services).
func ValidateEventName(name string) error {
	if !isIdent(name, true) {
		return invalid("event name %q is not valid: use letters, digits and _, starting with a letter, e.g. \"invoiceSent\"", name)
	}
	return nil
}

// ValidateVersion checks a service version: a positive integer without leading zeros,
// e.g. "1" (a leading "v" is accepted and dropped by NormalizeVersion).
func ValidateVersion(v string) error {
	v = NormalizeVersion(v)
	if v == "" || v[0] == '0' || strings.Trim(v, "0123456789") != "" {
		return invalid("version %q is not a positive whole number: use e.g. 1 or 2", v)
	}
	return nil
}

// NormalizeVersion drops a leading "v" ("v2" → "2").
func NormalizeVersion(v string) string { return strings.TrimPrefix(strings.TrimSpace(v), "v") }

// ValidateModulePath checks a Go module path: slash-separated elements of letters,
// digits and "-._~", no spaces, no leading or trailing slash, e.g. "example.com/shop".
func ValidateModulePath(p string) error {
	bad := p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//")
	for _, elem := range strings.Split(p, "/") {
		if bad {
			break
		}
		if elem == "." || elem == ".." || strings.HasPrefix(elem, ".") {
			bad = true
		}
		for _, r := range elem {
			if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._~", r))) {
				bad = true
			}
		}
	}
	if bad {
		return invalid("module path %q is not valid: use e.g. \"example.com/shop\" or \"github.com/you/shop\"", p)
	}
	return nil
}

// ValidateBridge checks a --bridge value.
func ValidateBridge(kind string) error {
	if slices.Contains(BridgeKinds(), kind) {
		return nil
	}
	return invalid("unknown bridge %q: use one of %s, e.g. --bridge nats", kind, strings.Join(BridgeKinds(), ", "))
}

// lowerFirst lower-cases the first letter ("SendInvoice" → "sendInvoice").
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// upperFirst upper-cases the first letter ("sendInvoice" → "SendInvoice").
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// snake turns a camel-case identifier into a file name stem ("sendInvoice" →
// "send_invoice", "HTTPCall" → "http_call").
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
