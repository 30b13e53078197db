package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// TestClassroomLoad runs 200 students' streams at once through a practice
// server in its own process, then 200 that hang up mid-answer. It prints
// the time to first chunk and both sides' peak memory (make load shows them).
func TestClassroomLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("200 streams at once: run without -short (make test, make load)")
	}
	const students = 200
	addr, server, _ := startServe(t, nil, "--first-token", "300ms", "--tps", "40")
	base := "http://" + addr + "/v1"
	client, err := streamdemo.NewClient(streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := practice.Choose("", "How many stars are in the universe?").Text
	messages := []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}}

	firsts := make([]time.Duration, students)
	var wg sync.WaitGroup
	var failures sync.Map
	start := time.Now()
	for i := range students {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := client.ChatStream(context.Background(), messages)
			for range stream.Chunks() {
			}
			if err := stream.Err(); err != nil {
				failures.Store(i, err.Error())
			}
			if stream.Text() != want {
				failures.Store(i, "wrong text")
			}
			firsts[i] = stream.Timing().FirstChunk
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	failures.Range(func(k, v any) bool { t.Errorf("student %v: %v", k, v); return true })
	slices.Sort(firsts)

	// Now a class that presses stop mid-answer: once every stream has its
	// first chunk, all of them are cancelled; each must end cut short.
	ctx, cancel := context.WithCancel(context.Background())
	var begun sync.WaitGroup
	cut := make([]*streamdemo.Stream, students)
	for i := range students {
		wg.Add(1)
		begun.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			defer once.Do(begun.Done) // a stream that never began does not hold the others
			cut[i] = client.ChatStream(ctx, messages)
			for range cut[i].Chunks() {
				once.Do(begun.Done)
			}
		}()
	}
	begun.Wait()
	cancel()
	wg.Wait()
	stopped, shown := 0, false
	for i, stream := range cut {
		if errors.Is(stream.Err(), streamdemo.ErrCancelled) && stream.Text() != "" && len(stream.Text()) < len(want) {
			stopped++
		} else if !shown { // the first one, not 200 lines
			shown = true
			t.Errorf("student %d: stream not cut mid-answer: %d of %d bytes, error %v", i, len(stream.Text()), len(want), stream.Err())
		}
	}
	if stopped != students {
		t.Errorf("%d of %d streams cut mid-answer, want all", stopped, students)
	}
	if active := waitIdle(t, base); active != 0 {
		t.Errorf("%d streams still active on the server after every student hung up", active)
	}
	fmt.Printf("classroom: %d concurrent streams in %v; time to first chunk median %v, p99 %v; peak memory: server %s, client %s\n",
		students, elapsed.Round(time.Millisecond), firsts[students/2].Round(time.Millisecond), firsts[students*99/100].Round(time.Millisecond),
		peakRSS(fmt.Sprintf("/proc/%d/status", server.Process.Pid)), peakRSS("/proc/self/status"))
}

// waitIdle waits up to 2s for the server to have no active stream.
func waitIdle(t *testing.T, base string) int {
	var status struct {
		Active int `json:"active_streams"`
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/practice/status")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&status)
		resp.Body.Close()
		if status.Active == 0 || time.Now().After(deadline) {
			return status.Active
		}
	}
}

// peakRSS reads a process's peak resident memory (VmHWM) from /proc.
func peakRSS(statusFile string) string {
	f, err := os.Open(statusFile)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
