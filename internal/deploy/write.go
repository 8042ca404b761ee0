package deploy

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write renders the plan into dir: dir/compose.yaml and dir/k8s/<name>.yaml per
// workload. Files of the same names are replaced (each through a temporary file and a
// rename, so a reader never sees half a file); other files in dir are left alone. It
// returns the paths written, compose.yaml first.
func Write(dir string, p *Plan) ([]string, error) {
	compose, err := Compose(p)
	if err != nil {
		return nil, err
	}
	kube, err := Kubernetes(p)
	if err != nil {
		return nil, err
	}
	files := []struct {
		path string
		data []byte
	}{{filepath.Join(dir, ComposeFile), compose}}
	for _, f := range kube {
		files = append(files, struct {
			path string
			data []byte
		}{filepath.Join(dir, KubernetesDir, f.Name), f.Data})
	}
	var written []string
	for _, f := range files {
		if err := writeFile(f.path, f.data); err != nil {
			return written, err
		}
		written = append(written, f.path)
	}
	return written, nil
}

// writeFile writes data to path through a temporary file in the same folder.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write manifests: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write manifests: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
