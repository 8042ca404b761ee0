package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"

	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
)

// invokeDialog is the invoke dialog: pick a command, edit its JSON payload (prefilled
// from the example or the input schema), send with ctrl+s, see the answer.
type invokeDialog struct {
	commands []framework.CommandInfo
	cursor   int
	editing  bool
	editor   textarea.Model
	sending  bool
	result   string
	isErr    bool
	// call is the last call sent, sentAt when; trace is its trace id (from an error
	// answer, or found in the message stream for a success).
	call   *invokeCall
	sentAt time.Time
	trace  string
}

type invokeCall struct {
	service, version, command string
	payload                   json.RawMessage
}

func newInvokeDialog(cmds []framework.CommandInfo, w, h int) *invokeDialog {
	d := &invokeDialog{commands: cmds, editor: textarea.New()}
	d.editor.ShowLineNumbers = false
	d.editor.Prompt = "  "
	d.resize(w, h)
	return d
}

func (d *invokeDialog) resize(w, h int) {
	d.editor.SetWidth(max(20, w-8))
	d.editor.SetHeight(max(3, min(12, h/3)))
}

func (d *invokeDialog) selected() framework.CommandInfo { return d.commands[d.cursor] }

// key handles a key press by the bindings of keys: it returns a command for the editor,
// whether the dialog closes, and the call to make when the user sends.
func (d *invokeDialog) key(k tea.KeyPressMsg, keys KeyMap) (tea.Cmd, bool, *invokeCall) {
	if !d.editing {
		switch {
		case key.Matches(k, keys.DialogClose):
			return nil, true, nil
		case key.Matches(k, keys.DialogUp):
			d.cursor = max(0, d.cursor-1)
		case key.Matches(k, keys.DialogDown):
			d.cursor = min(len(d.commands)-1, d.cursor+1)
		case key.Matches(k, keys.DialogEdit):
			d.editing = true
			d.editor.SetValue(PayloadTemplate(d.selected()))
			return d.editor.Focus(), false, nil
		}
		return nil, false, nil
	}
	switch {
	case key.Matches(k, keys.EditorBack):
		d.editing, d.result, d.trace, d.call = false, "", "", nil
		d.editor.Blur()
		return nil, false, nil
	case key.Matches(k, keys.Send):
		raw := strings.TrimSpace(d.editor.Value())
		if raw == "" {
			raw = "{}"
		}
		if !json.Valid([]byte(raw)) {
			d.result, d.isErr, d.trace, d.call = "payload is not valid JSON", true, "", nil
			return nil, false, nil
		}
		c := d.selected()
		d.sending, d.result, d.trace = true, "", ""
		d.call = &invokeCall{service: c.Service, version: c.Version, command: c.Name, payload: json.RawMessage(raw)}
		return nil, false, d.call
	}
	var cmd tea.Cmd
	d.editor, cmd = d.editor.Update(k)
	return cmd, false, nil
}

func (d *invokeDialog) update(msg tea.Msg) tea.Cmd {
	if !d.editing {
		return nil
	}
	var cmd tea.Cmd
	d.editor, cmd = d.editor.Update(msg)
	return cmd
}

func (d *invokeDialog) setResult(out json.RawMessage, err error) {
	d.sending = false
	if err != nil {
		d.isErr = true
		var ie *runtime.InvokeError
		if errors.As(err, &ie) {
			d.result = fmt.Sprintf("error %d: %s", ie.Status, ie.Message)
			if len(ie.Data) > 0 && string(ie.Data) != "null" {
				d.result += "\n" + indent(ie.Data)
			}
			d.trace = ie.TraceID
			return
		}
		d.result = "error: " + err.Error()
		return
	}
	d.isErr = false
	d.result = "ok\n" + indent(out)
}

func indent(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// PayloadTemplate returns the JSON the invoke dialog starts with for a command: its
// example input when it has one, otherwise a skeleton built from its input schema.
func PayloadTemplate(c framework.CommandInfo) string {
	if len(c.Example) > 0 && string(c.Example) != "null" {
		return indent(c.Example)
	}
	var schema map[string]any
	if json.Unmarshal(c.InputSchema, &schema) != nil {
		return "{}"
	}
	b, err := json.MarshalIndent(skeleton(schema, 0), "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

// skeleton returns a zero value shaped like schema.
func skeleton(schema map[string]any, depth int) any {
	if depth > 6 {
		return nil
	}
	if ex, ok := schema["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	if d, ok := schema["default"]; ok {
		return d
	}
	t, _ := schema["type"].(string)
	if ts, ok := schema["type"].([]any); ok && len(ts) > 0 {
		t, _ = ts[0].(string)
	}
	switch t {
	case "object", "":
		props, _ := schema["properties"].(map[string]any)
		if props == nil && t == "" {
			return map[string]any{}
		}
		out := map[string]any{}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				out[k] = skeleton(ps, depth+1)
			}
		}
		return out
	case "array":
		return []any{}
	case "string":
		return ""
	case "integer", "number":
		return 0
	case "boolean":
		return false
	}
	return nil
}
