package practice

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A server left running keeps only the latest requests, yet counts them all.
func TestServerKeepsOnlyRecentRequests(t *testing.T) {
	srv := New(Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	n := MaxRecords + 50
	for range n {
		resp, err := http.Post(ts.URL+"/v1/sonar", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if got := len(srv.Records()); got != MaxRecords {
		t.Errorf("%d records kept after %d requests, want %d", got, n, MaxRecords)
	}
	resp, err := http.Get(ts.URL + "/v1/practice/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Requests int }
	json.NewDecoder(resp.Body).Decode(&st)
	if st.Requests != n {
		t.Errorf("status counts %d requests, want %d", st.Requests, n)
	}
}
