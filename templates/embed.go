// Package templates holds the text/template sources that `purista new` and `purista add`
// render, embedded into the purista binary so that it needs no files at run time.
//
// Layout (every file ends in .tmpl; Go sources are gofmt-formatted after rendering):
//
//	project/       files of a new project (go.mod, cmd/<name>/main.go, README.md, Makefile, .gitignore)
//	service/       a service: its contract package and its implementation package
//	command/       a command: contract types and handle, handler, handler test
//	subscription/  a subscription: handler and its test
//
// The data each template receives is defined in internal/scaffold (ProjectData,
// ServiceData, CommandData, SubscriptionData).
package templates

import (
	"embed"
	"io/fs"
)

//go:embed project service command subscription
var files embed.FS

// FS returns the embedded template tree (read-only).
func FS() fs.FS { return files }
