//go:build !unix

package gateway

import "os"

// keyModeOK says whether a key file is readable by its owner alone.
func keyModeOK(info os.FileInfo) bool { return info.Mode().Perm()&0o077 == 0 }
