package newcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/scaffold"
)

// Answers are the choices of `purista new` that the prompt can ask for.
type Answers struct {
	// Name is the project name.
	Name string
	// Module is the Go module path ("" means: the name).
	Module string
	// Bridge is memory, nats, amqp or mqtt.
	Bridge string
	// HTTP adds the serverless (HTTP) profile.
	HTTP bool
}

// Question is one thing the prompt asks.
type Question int

// The questions, in the order they are asked.
const (
	AskName Question = iota
	AskModule
	AskBridge
	AskHTTP
)

// ErrCancelled is returned when the user leaves the prompt with Esc or Ctrl+C.
var ErrCancelled = errors.New("cancelled: nothing was written")

// inputWidth is how many columns the prompt's text input shows (longer text scrolls).
const inputWidth = 60

// PromptModel is the bubbletea model of the `purista new` prompt: it asks the given
// questions one after the other and validates each answer before moving on. Drive it
// with key messages (tea.KeyPressMsg) and read Answers once Done.
type PromptModel struct {
	questions []Question
	step      int
	input     textinput.Model
	choice    int
	answers   Answers
	errMsg    string
	done      bool
	cancelled bool
}

// NewPromptModel returns a prompt for the questions, starting from the defaults in a.
func NewPromptModel(a Answers, questions ...Question) *PromptModel {
	m := &PromptModel{questions: questions, answers: a, input: textinput.New()}
	// Without a width the text input renders only the first rune of its placeholder.
	m.input.SetWidth(inputWidth)
	m.enter()
	return m
}

// Done reports whether every question is answered.
func (m *PromptModel) Done() bool { return m.done }

// Cancelled reports whether the user left the prompt.
func (m *PromptModel) Cancelled() bool { return m.cancelled }

// Answers returns the answers so far.
func (m *PromptModel) Answers() Answers { return m.answers }

func (m *PromptModel) current() Question { return m.questions[m.step] }

// enter prepares the widget of the current question.
func (m *PromptModel) enter() {
	if m.step >= len(m.questions) {
		m.done = true
		return
	}
	m.errMsg = ""
	switch m.current() {
	case AskName:
		m.input.Reset()
		m.input.Placeholder = "shop"
		m.input.SetValue(m.answers.Name)
	case AskModule:
		m.input.Reset()
		m.input.Placeholder = m.answers.Name
		m.input.SetValue(m.answers.Module)
	case AskBridge:
		m.choice = 0
		for i, b := range scaffold.BridgeKinds() {
			if b == m.answers.Bridge {
				m.choice = i
			}
		}
	case AskHTTP:
		m.choice = 1 // no
		if m.answers.HTTP {
			m.choice = 0
		}
	}
	m.input.Focus()
}

// Init implements tea.Model.
func (m *PromptModel) Init() tea.Cmd { return textinput.Blink }

// Update implements tea.Model.
func (m *PromptModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	key, ok := msg.(tea.KeyPressMsg)
	if m.done || m.cancelled {
		return m, tea.Quit
	}
	if ok && (key.String() == "ctrl+c" || key.String() == "esc") {
		m.cancelled = true
		return m, tea.Quit
	}
	q := m.current()
	if q == AskName || q == AskModule {
		if ok && key.String() == "enter" {
			return m.submitText()
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	if !ok {
		return m, nil
	}
	n := 2
	if q == AskBridge {
		n = len(scaffold.BridgeKinds())
	}
	switch key.String() {
	case "up", "k", "shift+tab":
		m.choice = (m.choice + n - 1) % n
	case "down", "j", "tab":
		m.choice = (m.choice + 1) % n
	case "y":
		if q == AskHTTP {
			m.choice = 0
			return m.submitChoice()
		}
	case "n":
		if q == AskHTTP {
			m.choice = 1
			return m.submitChoice()
		}
	case "enter", "space":
		return m.submitChoice()
	}
	return m, nil
}

func (m *PromptModel) submitText() (tea.Model, tea.Cmd) {
	v := strings.TrimSpace(m.input.Value())
	var err error
	if m.current() == AskName {
		if err = scaffold.ValidateProjectName(v); err == nil {
			m.answers.Name = v
		}
	} else {
		if v == "" {
			v = m.answers.Name
		}
		if err = scaffold.ValidateModulePath(v); err == nil {
			m.answers.Module = v
		}
	}
	if err != nil {
		m.errMsg = strings.TrimPrefix(err.Error(), scaffold.ErrInvalidInput.Error()+": ")
		return m, nil
	}
	return m.next()
}

func (m *PromptModel) submitChoice() (tea.Model, tea.Cmd) {
	if m.current() == AskBridge {
		m.answers.Bridge = scaffold.BridgeKinds()[m.choice]
	} else {
		m.answers.HTTP = m.choice == 0
	}
	return m.next()
}

func (m *PromptModel) next() (tea.Model, tea.Cmd) {
	m.step++
	m.enter()
	if m.done {
		return m, tea.Quit
	}
	return m, nil
}

// View implements tea.Model.
func (m *PromptModel) View() tea.View {
	if m.done || m.cancelled {
		return tea.NewView("")
	}
	var b strings.Builder
	switch q := m.current(); q {
	case AskName:
		b.WriteString("Project name (a Go identifier)\n" + m.input.View() + "\n")
	case AskModule:
		b.WriteString("Go module path (Enter for " + m.answers.Name + ")\n" + m.input.View() + "\n")
	case AskBridge, AskHTTP:
		title, opts := "Broker for the distributed profiles (the in-memory bridge is always there)", scaffold.BridgeKinds()
		if q == AskHTTP {
			title, opts = "Serve commands over HTTP too (serverless profile)?", []string{"yes", "no"}
		}
		b.WriteString(title + "\n")
		for i, o := range opts {
			cursor := "  "
			if i == m.choice {
				cursor = "> "
			}
			b.WriteString(cursor + o + "\n")
		}
	}
	if m.errMsg != "" {
		b.WriteString("! " + m.errMsg + "\n")
	}
	b.WriteString("(enter: next · esc: cancel)\n")
	return tea.NewView(b.String())
}

// RunPrompt runs the prompt as a bubbletea program on in/out and returns the answers.
func RunPrompt(ctx context.Context, in io.Reader, out io.Writer, a Answers, questions ...Question) (Answers, error) {
	m := NewPromptModel(a, questions...)
	if m.Done() {
		return m.Answers(), nil
	}
	final, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)).Run()
	if err != nil {
		return a, fmt.Errorf("prompt: %w", err)
	}
	pm, ok := final.(*PromptModel)
	if !ok || pm.Cancelled() || !pm.Done() {
		return a, ErrCancelled
	}
	return pm.Answers(), nil
}
