package practice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// The tests in this file hold the practice server against the real recorded
// Agent API stream, so the two cannot drift apart.

type object = map[string]any

func realEvents(t *testing.T) []object {
	t.Helper()
	b, err := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	if err != nil {
		t.Fatal(err)
	}
	var evs []object
	for _, line := range bytes.Split(b, []byte("\n")) {
		var ev object
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func practiceEvents(t *testing.T, body string) []object {
	t.Helper()
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	var evs []object
	for _, p := range dataLines(t, post(t, ts.URL+"/v1/agent", body).Body) {
		var ev object
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatalf("not JSON: %s", p)
		}
		evs = append(evs, ev)
	}
	return evs
}

// collapse drops repeats that follow each other (the many deltas become one).
func collapse(xs []string) []string { return slices.Compact(slices.Clone(xs)) }

// pattern is each event as (type, output_index, item.type).
func pattern(evs []object) []string {
	var out []string
	for _, ev := range evs {
		idx, item := "-", "-"
		if i, ok := ev["output_index"]; ok {
			idx = fmt.Sprint(i)
		}
		if it, ok := ev["item"].(object); ok {
			item = fmt.Sprint(it["type"])
		}
		out = append(out, fmt.Sprintf("(%s, %s, %s)", ev["type"], idx, item))
	}
	return out
}

func keys(v any) string {
	m, _ := v.(object)
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}

// shapes names every object of a stream by where it sits, with its key set;
// search results record which keys every result has and which some have.
func shapes(evs []object) map[string]string {
	out := map[string]string{}
	add := func(where string, v any) {
		if k := keys(v); out[where] == "" || out[where] == k {
			out[where] = k
		} else {
			out[where] += " | " + k
		}
	}
	var response func(where string, r object)
	response = func(where string, r object) {
		add(where, r)
		if u, ok := r["usage"].(object); ok {
			add("usage", u)
			for _, k := range []string{"input_tokens_details", "output_tokens_details", "tool_calls_details", "cost"} {
				add("usage."+k, u[k])
			}
			add("usage.tool_calls_details.search_web", u["tool_calls_details"].(object)["search_web"])
			add("usage.cost.tool_calls_cost_details", u["cost"].(object)["tool_calls_cost_details"])
		}
		for _, it := range r["output"].([]any) {
			item(where+".output[]", it.(object), add)
		}
	}
	for _, ev := range evs {
		typ := ev["type"].(string)
		add("event "+typ, ev)
		if r, ok := ev["response"].(object); ok {
			response("response of "+typ, r)
		}
		if it, ok := ev["item"].(object); ok {
			item("item of "+typ, it, add)
		}
		for _, r := range asList(ev["results"]) {
			add("search result", resultKeys(r))
		}
	}
	return out
}

func item(where string, it object, add func(string, any)) {
	add(where+" "+fmt.Sprint(it["type"]), it)
	for _, r := range asList(it["results"]) {
		add("search result", resultKeys(r))
	}
	for _, c := range asList(it["content"]) {
		add("message content", c)
	}
}

// resultKeys leaves out date, which real results have only sometimes.
func resultKeys(r any) object {
	m := maps.Clone(r.(object))
	delete(m, "date")
	return m
}

func asList(v any) []any { l, _ := v.([]any); return l }

func types(evs []object) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev["type"].(string))
	}
	return out
}

const lessonRequest = `{"preset":"fast","stream":true,"input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}]}`

func TestPracticeStreamHasTheRealSequence(t *testing.T) {
	real, got := realEvents(t), practiceEvents(t, lessonRequest)
	if a, b := collapse(types(real)), collapse(types(got)); !reflect.DeepEqual(a, b) {
		t.Errorf("collapsed event sequence:\npractice %v\nreal     %v", b, a)
	}
	if a, b := collapse(pattern(real)), collapse(pattern(got)); !reflect.DeepEqual(a, b) {
		t.Errorf("(type, output_index, item.type) pattern:\npractice %v\nreal     %v", b, a)
	}
}

func TestPracticeStreamHasTheRealKeys(t *testing.T) {
	for _, request := range []string{lessonRequest, sonarRequest} {
		compareShapes(t, request)
	}
}

// sonarRequest is what the package sends for the Sonar name "sonar".
const sonarRequest = `{"model":"perplexity/sonar","stream":true,"tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"},"input":"How many stars are in the universe?"}`

func compareShapes(t *testing.T, request string) {
	evs := practiceEvents(t, request)
	if tools, _ := json.Marshal(evs[0]["response"].(object)["tools"]); string(tools) != `[{"type":"web_search"}]` {
		t.Errorf("tools echoed as %s, the real response has [{\"type\":\"web_search\"}]", tools)
	}
	real, got := shapes(realEvents(t)), shapes(evs)
	for _, where := range slices.Sorted(maps.Keys(real)) {
		if got[where] != real[where] {
			t.Errorf("%s:\npractice %s\nreal     %s", where, got[where], real[where])
		}
	}
	for where := range got {
		if _, ok := real[where]; !ok {
			t.Errorf("%s: the practice server sends it, the real stream has no such object", where)
		}
	}
}

func TestPracticeStreamNumbersAndIDsLikeTheReal(t *testing.T) {
	evs := practiceEvents(t, lessonRequest)
	last, gaps := -1, 0
	var callIDs []string
	for _, ev := range evs {
		seq := int(ev["sequence_number"].(float64))
		if seq <= last {
			t.Fatalf("sequence %d after %d", seq, last)
		}
		if seq > last+1 {
			gaps++
		}
		last = seq
		if id, ok := ev["call_id"].(string); ok {
			callIDs = append(callIDs, id)
		}
		if it, ok := ev["item"].(object); ok && it["type"] == "function_call" {
			callIDs = append(callIDs, it["call_id"].(string))
			var args struct{ Queries []string }
			if json.Unmarshal([]byte(it["arguments"].(string)), &args) != nil || len(args.Queries) != 1 || it["name"] != "search_web" {
				t.Errorf("function_call item %v: arguments should be a JSON string of the queries", it)
			}
		}
	}
	if gaps != 2 {
		t.Errorf("%d gaps in the numbering, the real stream has 2", gaps)
	}
	if len(callIDs) != 3 || callIDs[0] != callIDs[1] || callIDs[1] != callIDs[2] {
		t.Errorf("call ids %v: the function_call item and both search events share one", callIDs)
	}
	first, end := evs[0]["response"].(object), evs[len(evs)-1]["response"].(object)
	if first["model"] != "fast" || end["model"] != "openai/gpt-6-luna" {
		t.Errorf("model %v at created, %v at completed: the preset first, then the model that ran (as in the real capture)", first["model"], end["model"])
	}
	cost := end["usage"].(object)["cost"].(object)
	sum := cost["input_cost"].(float64) + cost["output_cost"].(float64) + cost["tool_calls_cost"].(float64) + cost["cache_read_cost"].(float64)
	if math.Abs(sum-cost["total_cost"].(float64)) > 1e-9 {
		t.Errorf("total_cost %v is not the sum of its parts %v", cost["total_cost"], sum)
	}
}

func TestPracticeWholeAnswerHasTheRealShape(t *testing.T) {
	b, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+".json")
	var real object
	json.Unmarshal(b, &real)
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	resp := post(t, ts.URL+"/v1/agent", strings.Replace(lessonRequest, `"stream":true`, `"stream":false`, 1))
	body, _ := io.ReadAll(resp.Body)
	var got object
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if keys(got) != keys(real) || len(got) != 32 {
		t.Errorf("response keys:\npractice %s\nreal     %s", keys(got), keys(real))
	}
	var items []string
	for _, it := range got["output"].([]any) {
		items = append(items, fmt.Sprint(it.(object)["type"]))
	}
	if strings.Join(items, ",") != "search_results,message" {
		t.Errorf("output items %v, want search_results then message", items)
	}
}

func TestShippedCaptureReplaysEventForEvent(t *testing.T) {
	real, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	got := dataLines(t, post(t, ts.URL+"/v1/responses", `{"model":"replay/agent-web-search","stream":true,"input":"any question"}`).Body)
	if strings.Join(got, "\n") != string(real) {
		t.Errorf("replay/agent-web-search sent %d events that differ from the capture", len(got))
	}
}

// TestReplayKeepsTheRecordedPace replays a recording with arrival times at
// its pace, and faster with ReplaySpeed.
func TestReplayKeepsTheRecordedPace(t *testing.T) {
	dir := t.TempDir()
	real, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	n := bytes.Count(real, []byte("\n")) + 1
	var times strings.Builder
	for i := range n {
		fmt.Fprintf(&times, "%d\n", 300*i/(n-1)) // 0 to 300 ms
	}
	writeTestFile(t, dir+"/paced.jsonl", real)
	writeTestFile(t, dir+"/paced"+TimesExt, []byte(times.String()))
	for _, tc := range []struct {
		speed    float64
		min, max time.Duration
	}{{1, 300 * time.Millisecond, 2 * time.Second}, {6, 50 * time.Millisecond, 250 * time.Millisecond}} {
		ts := httptest.NewServer(New(Options{ReplayDir: dir, ReplaySpeed: tc.speed}))
		start := time.Now()
		got := dataLines(t, post(t, ts.URL+"/v1/agent", `{"model":"replay/paced","stream":true,"input":"hi"}`).Body)
		took := time.Since(start)
		ts.Close()
		if strings.Join(got, "\n") != string(real) || took < tc.min || took > tc.max {
			t.Errorf("speed %v: %d events in %v, want the capture's %d in %v..%v", tc.speed, len(got), took, n, tc.min, tc.max)
		}
	}
	ts := httptest.NewServer(New(Options{ReplayDir: dir}))
	defer ts.Close()
	resp := post(t, ts.URL+"/v1/agent", `{"model":"replay/missing","stream":true,"input":"hi"}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `no recording named \"missing\"`) {
		t.Errorf("an unknown recording: %d %s", resp.StatusCode, body)
	}
}

func writeTestFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
