package streamdemo

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The default check of the rule's last step: a server that accepts
// connections answers, a closed port does not.
func TestDialableTellsARunningServerFromAClosedPort(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	up := ts.URL + "/v1"
	if !dialable(up) {
		t.Errorf("dialable(%s) = false with the server running", up)
	}
	ts.Close()
	if dialable(up) {
		t.Errorf("dialable(%s) = true after the server closed", up)
	}
}
