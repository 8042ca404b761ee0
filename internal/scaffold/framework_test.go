package scaffold

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocateFramework(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	noCheckout := func() (string, bool) { return "", false }
	tests := []struct {
		name        string
		explicit    string
		binVersion  string
		checkout    func() (string, bool)
		wantReplace string
		wantVersion string
		wantErr     string
	}{
		{name: "explicit checkout", explicit: repo, binVersion: "dev", checkout: noCheckout, wantReplace: repo, wantVersion: "v0.0.0"},
		{name: "explicit folder that is no checkout", explicit: t.TempDir(), checkout: noCheckout, wantErr: "is not a checkout"},
		{name: "built from a checkout", binVersion: "dev", checkout: func() (string, bool) { return repo, true }, wantReplace: repo, wantVersion: "v0.0.0"},
		{name: "release build", binVersion: "v1.2.3", checkout: noCheckout, wantVersion: "v1.2.3"},
		{name: "development build without a checkout", binVersion: "abc123-dirty", checkout: noCheckout, wantErr: "pass --framework PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw, err := locateFramework(tt.explicit, tt.binVersion, tt.checkout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("err = %v, want ErrInvalidInput containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fw.Replace != tt.wantReplace || fw.Version != tt.wantVersion {
				t.Fatalf("replace %q version %q, want %q %q", fw.Replace, fw.Version, tt.wantReplace, tt.wantVersion)
			}
			if tt.wantReplace != "" && (len(fw.Requires) == 0 || len(fw.Sum) == 0) {
				t.Fatal("a replace must carry the framework's requirements and go.sum for offline builds")
			}
		})
	}
}
