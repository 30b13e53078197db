//go:build unix

package gateway

import (
	"os"
	"slices"
	"syscall"
)

// keyModeOK says whether a key file is kept from other accounts: readable
// by its owner alone (0600, 0400), or root's file that besides root only a
// group of the gateway's own may read (0440, 0640). The second is how
// Kubernetes mounts a Secret for a pod that runs as a non-root user with an
// fsGroup: the kubelet adds group read to the Secret's mode (0400 becomes
// 0440) and gives the file to the fsGroup, the only way such a pod can read
// it. Nothing else may be set: no group write, nothing for others.
func keyModeOK(info os.FileInfo) bool {
	perm := info.Mode().Perm()
	if perm&0o077 == 0 {
		return true
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || perm&0o037 != 0 || st.Uid != 0 {
		return false
	}
	if int(st.Gid) == os.Getegid() {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, int(st.Gid))
}
