package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAKeyFileOthersCanReadIsRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	os.WriteFile(file, []byte(testKey+"\n"), 0o644)
	_, err := LoadKey(file)
	if !errors.Is(err, ErrKeyFileOpen) || !strings.Contains(err.Error(), "0644") || strings.Contains(err.Error(), testKey) {
		t.Errorf("mode 0644: %v", err)
	}
	os.Chmod(file, 0o600)
	if key, err := LoadKey(file); err != nil || key != testKey {
		t.Errorf("mode 0600: %q, %v", key, err)
	}
	t.Setenv(KeyEnv, " "+testKey+" ")
	if key, err := LoadKey(""); err != nil || key != testKey {
		t.Errorf("from %s: %q, %v", KeyEnv, key, err)
	}
}
