package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Secret mounted by Kubernetes for a pod with an fsGroup is root's file,
// mode 0440, of the pod's group: accepted. The same file of a group the
// gateway is not in, or with anything more for the group, is refused.
func TestAKeyFileMountedAsAKubernetesSecretIsAccepted(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test gives a file to root and to other groups, which needs root")
		}
		t.Skip("needs root (to give a file to root and to other groups)")
	}
	file := filepath.Join(t.TempDir(), "upstream-key")
	os.WriteFile(file, []byte(testKey+"\n"), 0o440)
	cases := []struct {
		gid  int
		mode os.FileMode
		ok   bool
	}{
		{os.Getegid(), 0o440, true},
		{os.Getegid(), 0o640, true},
		{os.Getegid(), 0o460, false},
		{os.Getegid(), 0o444, false},
		{os.Getegid() + 4242, 0o440, false},
	}
	for _, c := range cases {
		if err := os.Chown(file, 0, c.gid); err != nil {
			t.Fatal(err)
		}
		os.Chmod(file, c.mode)
		key, err := LoadKey(file)
		if c.ok && (err != nil || key != testKey) {
			t.Errorf("root's file of group %d, mode %04o: %v", c.gid, c.mode, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "can be read by other users")) {
			t.Errorf("root's file of group %d, mode %04o was accepted", c.gid, c.mode)
		}
	}
}
