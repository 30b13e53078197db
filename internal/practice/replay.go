package practice

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// replayPrefix starts the model name that replays a recording: replay/NAME.
const replayPrefix = "replay/"

// Recording extensions: NAME.jsonl (what `streamdemo record` writes) or
// NAME.chunks.txt (the published capture's name); both hold one JSON event
// per line. NAME.times, when present, holds each event's arrival time in
// milliseconds since the request was sent, one per line; NAME.json, when
// present, is the non-streamed answer.
var recordingExts = []string{".jsonl", capture.Ext}

// TimesExt is the file-name ending of a recording's arrival times.
const TimesExt = ".times"

// Recording is a recorded stream: its events and when each arrived.
type Recording struct {
	Events [][]byte        // each event's JSON, as received
	Times  []time.Duration // since the request was sent; nil if not recorded
	Whole  []byte          // the non-streamed answer, if recorded
}

// LoadRecording reads recording name from dir, then from the captures that
// ship with the server.
func (s *Server) LoadRecording(name string) (Recording, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return Recording{}, fmt.Errorf("%q is not a recording name", name)
	}
	var sources []fs.FS
	if s.opts.ReplayDir != "" {
		sources = append(sources, os.DirFS(s.opts.ReplayDir))
	}
	for _, fsys := range append(sources, capture.Perplexity) {
		for _, ext := range recordingExts {
			b, err := fs.ReadFile(fsys, name+ext)
			if err != nil {
				continue
			}
			return parseRecording(fsys, name, b)
		}
	}
	return Recording{}, fmt.Errorf("no recording named %q (in %s or the shipped captures)", name, cmp.Or(s.opts.ReplayDir, "no replay folder"))
}

func parseRecording(fsys fs.FS, name string, b []byte) (Recording, error) {
	var rec Recording
	for _, line := range bytes.Split(b, []byte("\n")) {
		if line = bytes.TrimRight(line, "\r"); len(line) > 0 {
			rec.Events = append(rec.Events, line)
		}
	}
	if t, err := fs.ReadFile(fsys, name+TimesExt); err == nil {
		for _, f := range strings.Fields(string(t)) {
			ms, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return rec, fmt.Errorf("%s%s: %q is not a time in milliseconds", name, TimesExt, f)
			}
			rec.Times = append(rec.Times, time.Duration(ms*float64(time.Millisecond)))
		}
		if len(rec.Times) != len(rec.Events) {
			return rec, fmt.Errorf("%s%s has %d times for %d events", name, TimesExt, len(rec.Times), len(rec.Events))
		}
	}
	var err error
	if rec.Whole, err = fs.ReadFile(fsys, name+".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rec, err
	}
	if len(rec.Events) == 0 {
		return rec, errors.New(name + " holds no events")
	}
	return rec, nil
}

// replay serves a recording event for event, at its recorded pace divided
// by ReplaySpeed; without recorded times, text deltas come at the server's
// pace. Not streamed, it answers the recorded whole answer, or the response
// object of the recording's last event.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, rec *Record, name string, stream bool) {
	rec.Script = replayPrefix + name
	recording, err := s.LoadRecording(name)
	if err != nil {
		rec.Status = 400
		writeError(w, 400, agentErrorBody(400, "invalid_model", err.Error(), "model"))
		return
	}
	s.active.Add(1)
	defer s.active.Add(-1)
	if !stream {
		whole := recording.Whole
		if whole == nil {
			var last struct {
				Response json.RawMessage `json:"response"`
			}
			json.Unmarshal(recording.Events[len(recording.Events)-1], &last)
			whole = last.Response
		}
		rec.Status, rec.Chunks = http.StatusOK, 1
		w.Header().Set("Content-Type", "application/json")
		w.Write(whole)
		return
	}
	rec.Status = http.StatusOK
	out := startSSE(w)
	pace := &pacer{ctx: r.Context(), opts: s.opts}
	start := time.Now()
	speed := s.opts.ReplaySpeed
	if speed <= 0 {
		speed = 1
	}
	for i, ev := range recording.Events {
		delta := bytes.Contains(ev, []byte(`"response.output_text.delta"`))
		var ok bool
		if recording.Times != nil {
			ok = sleepUntil(r, start.Add(time.Duration(float64(recording.Times[i])/speed)))
		} else {
			ok = !delta || pace.next()
		}
		if !ok {
			rec.Disconnected = true
			return
		}
		sent := Stamp{time.Now().UnixNano(), len(ev)}
		if out.data(string(ev)) != nil {
			rec.Disconnected = true
			return
		}
		if delta {
			rec.Chunks++
			rec.Sent = append(rec.Sent, sent)
		}
	}
}

// sleepUntil waits until t; it reports false when the client went away.
func sleepUntil(r *http.Request, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return r.Context().Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
