package completion

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/scaffold"
)

// The functions below are the dynamic completions the verbs register for their
// arguments and flags (cobra's ValidArgsFunction and RegisterFlagCompletionFunc). They
// read the project that contains the folder the command line names; outside a project,
// or with a broken purista.yaml, they offer nothing and never fail the shell.

// DirFunc returns the folder whose project a completion reads, from the command line
// parsed so far.
type DirFunc func(cmd *cobra.Command, args []string) string

// DirFlag reads the folder from the named flag (default ".").
func DirFlag(name string) DirFunc {
	return func(cmd *cobra.Command, _ []string) string {
		if v, err := cmd.Flags().GetString(name); err == nil && v != "" {
			return v
		}
		return "."
	}
}

// DirArg reads the folder from the first positional argument (default ".").
func DirArg(_ *cobra.Command, args []string) string {
	if len(args) > 0 && args[0] != "" {
		return args[0]
	}
	return "."
}

// Folders completes a flag's value with the shell's own folder completion.
func Folders(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// Dirs is a verb's ValidArgsFunction for an optional project folder argument: the
// shell's folder completion for the first argument, nothing after it.
func Dirs(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// Fixed completes one of choices, nothing else (no file names).
func Fixed(choices ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp)
}

// BrokerKinds completes a --broker value: nats, amqp or mqtt.
func BrokerKinds() cobra.CompletionFunc {
	return cobra.FixedCompletions([]cobra.Completion{
		cobra.CompletionWithDesc("nats", "NATS (JetStream)"),
		cobra.CompletionWithDesc("amqp", "RabbitMQ / AMQP 0-9-1"),
		cobra.CompletionWithDesc("mqtt", "MQTT v5"),
	}, cobra.ShellCompDirectiveNoFileComp)
}

// manifest loads the project of dir, or nil when there is none (or it does not load).
func manifest(dir string) *project.Manifest {
	m, _, err := project.Find(dir)
	if err != nil {
		return nil
	}
	return m
}

// Services completes the name of a service of the project, described by its version
// and contract folder. With nArgs >= 0 it completes only the positional argument with
// that index (0 for the first) and nothing after it.
func Services(dir DirFunc, nArgs int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if nArgs >= 0 && len(args) != nArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return serviceChoices(dir(cmd, args)), cobra.ShellCompDirectiveNoFileComp
	}
}

func serviceChoices(dir string) []cobra.Completion {
	m := manifest(dir)
	if m == nil {
		return nil
	}
	var out []cobra.Completion
	for _, s := range m.Services {
		out = append(out, cobra.CompletionWithDesc(s.Name, fmt.Sprintf("v%s, %s", s.Version, s.Path)))
	}
	return out
}

// Profiles completes the name of a profile of the project's purista.yaml, described by
// its bridge.
func Profiles(dir DirFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		m := manifest(dir(cmd, args))
		if m == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, name := range m.ProfileNames() {
			p := m.Profiles[name]
			desc := "bridge " + p.Bridge
			if p.Split {
				desc += ", one process per service"
			}
			out = append(out, cobra.CompletionWithDesc(name, desc))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Events completes the name of an event a contract of the project declares (a command's
// success event or a framework.Event), described by where it is declared.
func Events(dir DirFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		events, err := scaffold.ProjectEvents(dir(cmd, args))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, ev := range events {
			out = append(out, cobra.CompletionWithDesc(ev.Name, "declared by "+ev.Service))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// ServiceList completes a comma-separated list of services of the project (as for
// --services); extra are further values offered besides the services (such as "each").
func ServiceList(dir DirFunc, extra ...cobra.Completion) cobra.CompletionFunc {
	return List(func(cmd *cobra.Command, args []string) []cobra.Completion {
		return append(serviceChoices(dir(cmd, args)), extra...)
	})
}

// List completes a comma-separated list flag (--only a,b,…): the value typed so far up
// to its last comma is kept, the part after it is completed from choices, and values
// already in the list are not offered again. No space follows, so another comma can.
func List(choices func(cmd *cobra.Command, args []string) []cobra.Completion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix = toComplete[:i+1]
		}
		chosen := strings.Split(strings.TrimSuffix(prefix, ","), ",")
		var out []cobra.Completion
		for _, c := range choices(cmd, args) {
			value, _, _ := strings.Cut(c, "\t")
			if slices.Contains(chosen, value) {
				continue
			}
			out = append(out, prefix+c)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// Choices adapts a fixed list of values to List.
func Choices(values ...string) func(*cobra.Command, []string) []cobra.Completion {
	return func(*cobra.Command, []string) []cobra.Completion { return values }
}

// Flags registers the completion functions of cmd's flags, by flag name. A flag that
// does not exist or already has one is a programming error and panics, so the verbs'
// tests catch it.
func Flags(cmd *cobra.Command, funcs map[string]cobra.CompletionFunc) {
	for name, f := range funcs {
		if err := cmd.RegisterFlagCompletionFunc(name, f); err != nil {
			panic(err)
		}
	}
}
