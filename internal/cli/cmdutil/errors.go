package cmdutil

import (
	"errors"
	"fmt"

	"github.com/purista-go/purista/internal/project"
)

// Exit codes of the purista binary (documented in docs/cli.md).
const (
	// ExitOK means the command succeeded.
	ExitOK = 0
	// ExitError means the command ran and failed.
	ExitError = 1
	// ExitUsage means the command line was wrong: unknown verb, flag or argument.
	ExitUsage = 2
	// ExitInterrupted means the command was cancelled by SIGINT/SIGTERM (128 + SIGINT).
	ExitInterrupted = 130
)

// UsageError is an error in how the command was invoked (unknown flag, wrong number or
// value of arguments). It exits with ExitUsage and is followed by a hint to run --help.
type UsageError struct {
	// Err is what was wrong.
	Err error
}

// Error returns the message of the wrapped error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf formats a UsageError.
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// HintError is an error with a suggestion for the user, printed on its own line after
// the error message.
type HintError struct {
	// Err is what went wrong.
	Err error
	// Hint tells the user what to do about it.
	Hint string
}

// Error returns the message of the wrapped error (without the hint).
func (e *HintError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches a hint to err. It returns nil when err is nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: hint}
}

// HintOf returns the hint attached anywhere in err's chain, or "".
func HintOf(err error) string {
	var h *HintError
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}

// IsUsageError reports whether err (or any error it wraps) is a UsageError.
func IsUsageError(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// ExitCodeError makes the command exit with Code instead of ExitError; Err is printed
// as usual. Verbs use it for documented codes of their own (e.g. `purista check` exits
// 3 when the project could not be built).
type ExitCodeError struct {
	// Code is the exit code.
	Code int
	// Err is what went wrong.
	Err error
}

// Error returns the message of the wrapped error.
func (e *ExitCodeError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *ExitCodeError) Unwrap() error { return e.Err }

// ProjectHint attaches, to an error of project.Find that found no purista.yaml, the hint
// to run the verb inside a project, point it at one (dirUsage, e.g. "purista check
// DIR") or create one. Other errors are returned as they are.
func ProjectHint(err error, verb, dirUsage string) error {
	if errors.Is(err, project.ErrNotFound) {
		return WithHint(err, fmt.Sprintf("Run 'purista %s' inside a project or point it at one (%s), or create one with 'purista new NAME'.", verb, dirUsage))
	}
	return err
}
