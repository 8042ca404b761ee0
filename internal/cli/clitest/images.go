package clitest

import (
	"context"
	"sync"

	"github.com/purista-go/purista/internal/image"
)

// ImageCall is one call of an ImageBuilder: the method and its arguments.
type ImageCall struct {
	// Method is "Build", "CheckDaemon", "WriteLayout", "WriteTarball", "Load" or "Push".
	Method string
	// Options are Build's options.
	Options image.Options
	// Target is CheckDaemon's and Load's host, WriteLayout's folder, WriteTarball's file
	// or Push's repository.
	Target string
	// Refs are the NAME:TAG of the images the call was given.
	Refs []string
}

// Images is a fake cmdutil.ImageBuilder: Build returns Result (with the options' Dir as
// its Root when Result.Root is empty) and BuildErr; the other methods return the error
// set for their method in Errs and write nothing. It records every call and is safe
// for concurrent use.
type Images struct {
	Result   image.Result
	BuildErr error
	// Errs are the errors of the other methods, by method name.
	Errs map[string]error
	// Said is what Load reports the daemon said.
	Said []string

	mu    sync.Mutex
	calls []ImageCall
}

// Calls returns the calls so far, in order.
func (f *Images) Calls() []ImageCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ImageCall(nil), f.calls...)
}

func (f *Images) record(c ImageCall, imgs []image.Image) error {
	for _, i := range imgs {
		c.Refs = append(c.Refs, i.Ref())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return f.Errs[c.Method]
}

// Build records the call and returns Result and BuildErr.
func (f *Images) Build(_ context.Context, o image.Options) (*image.Result, error) {
	_ = f.record(ImageCall{Method: "Build", Options: o}, nil)
	if f.BuildErr != nil {
		return nil, f.BuildErr
	}
	r := f.Result
	if r.Root == "" {
		r.Root = o.Dir
	}
	return &r, nil
}

// CheckDaemon records the call.
func (f *Images) CheckDaemon(_ context.Context, host string) error {
	return f.record(ImageCall{Method: "CheckDaemon", Target: host}, nil)
}

// WriteLayout records the call.
func (f *Images) WriteLayout(dir string, imgs []image.Image) error {
	return f.record(ImageCall{Method: "WriteLayout", Target: dir}, imgs)
}

// WriteTarball records the call.
func (f *Images) WriteTarball(file string, imgs []image.Image) error {
	return f.record(ImageCall{Method: "WriteTarball", Target: file}, imgs)
}

// Load records the call and returns Said.
func (f *Images) Load(_ context.Context, host string, imgs []image.Image) ([]string, error) {
	if err := f.record(ImageCall{Method: "Load", Target: host}, imgs); err != nil {
		return nil, err
	}
	return f.Said, nil
}

// Push records the call; it pushes nothing and reports no image.
func (f *Images) Push(_ context.Context, repo string, imgs []image.Image) ([]image.Pushed, error) {
	return nil, f.record(ImageCall{Method: "Push", Target: repo}, imgs)
}
