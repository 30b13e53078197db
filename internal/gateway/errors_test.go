package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTheTeachersSwitchesAnswerInSentences: a switch that cannot be made
// says why in a sentence the teacher can act on; what the database said
// goes to the log, never to the page.
func TestTheTeachersSwitchesAnswerInSentences(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.teacherToken(t)
	message := func(path, body string) (int, string) {
		a := do(t, "POST", tg.URL+path, tok, body)
		var e struct{ Error struct{ Message string } }
		json.Unmarshal([]byte(a.Body), &e)
		return a.Status, e.Error.Message
	}
	for _, c := range []struct{ path, body, want string }{
		{"teacher/pause", `{"student":"zed","paused":true}`, `No student called "zed": check the name against the table above.`},
		{"teacher/limits", `{"student":"zed","limits":{"requests_per_minute":5}}`, `No student called "zed": check the name against the table above.`},
		{"teacher/limits", `{"student":"*","limits":{"usd_per_day":-1}}`, "A limit cannot be negative: use 0 for no limit."},
	} {
		if status, got := message(c.path, c.body); status != 400 || got != c.want {
			t.Errorf("%s %s: HTTP %d %q, want 400 %q", c.path, c.body, status, got, c.want)
		}
	}
	if _, err := tg.ledger.db.Exec(`DROP TABLE switches`); err != nil { // every switch now fails in the database
		t.Fatal(err)
	}
	status, got := message("teacher/pause", `{"all":true}`)
	if status != 503 || !strings.HasPrefix(got, "The class gateway could not save the switch") || strings.Contains(got, "switches") {
		t.Errorf("a ledger failure: HTTP %d %q, want 503 and one sentence without the database's words", status, got)
	}
	if !strings.Contains(tg.log.String(), "switches") {
		t.Errorf("the log does not say what the database said:\n%s", tg.log.String())
	}
}
