package meter

import (
	"reflect"
	"testing"
)

// FuzzScanIsDecoding: whatever an answer's event holds, walking it
// counts, flags and names exactly what decoding it does.
func FuzzScanIsDecoding(f *testing.F) {
	for _, s := range append(append(captured(f), textDeltas(2)...), chatChunks(2)...) {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"type":"response.output_text.delta","delta":"caf\u00e9 \"x\"\n"}`,
		`{"type":"response.output_text.delta","delta":"a","delta":"bc"}`,
		`{"Type":"response.output_text.delta","delta":"abc"}`,
		`{"type":"response.function_call_arguments.delta","delta":{"a":"xy","id":"zz","type":"web_results"}}`,
		`{"type":"response.output_item.added","item":{"type":"function_call","name":"s","arguments":"{\"q\":1}","call_id":"c"}}`,
		`{"choices":[{"delta":{"content":"hi","content":"x"}}],"model":"m"}`,
		`{"choices":[{"delta":{"reasoning_content":"\ud83d\ude00"}},{"message":{"tool_calls":[{"function":{"arguments":"[1,2]"}}]}}]}`,
		`{"choices":[1,{"delta":null}],"model":null,"usage":null,"response":null}`,
		`{"output":[{"type":"message","content":[{"type":"output_text","text":"t","annotations":[{"url":"u"}]}]}],"model":"x"}`,
		`{"type":"response.completed","response":{"model":"m","usage":{"input_tokens":3,"output_tokens":4,"cost":{"total_cost":0.5}}}}`,
		`{"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0.25},"choices":[]}`,
		`{"type":"error","thought":"ab\tc"}`, `{"thought":7}`, `[]`, `"x"`, `{"delta":"\xff"}`, `{"type":"x.delta","delta":"` + "\xed\xa0\x80" + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, ran := range []string{"", "m"} {
			walked, decoded := &Tally{Ran: ran}, &Tally{Ran: ran}
			walkedHide, decodedHide := walked.Observe(payload), decoded.observeDecoded(payload)
			if !reflect.DeepEqual(walked, decoded) || walkedHide != decodedHide {
				t.Fatalf("%q: walked %+v (hide %t), decoded %+v (hide %t)", payload, walked, walkedHide, decoded, decodedHide)
			}
		}
	})
}

// Most events are walked: the text of both protocols, tool calls,
// Perplexity's reasoning and searches.
func TestTheCommonEventsAreWalkedNotDecoded(t *testing.T) {
	walked := 0
	events := append(append(captured(t), textDeltas(20)...), chatChunks(20)...)
	for _, e := range events {
		if (&Tally{}).observeScanned([]byte(e)) {
			walked++
		}
	}
	if walked < len(events)-5 { // created, in_progress, completed and the like hold a response
		t.Errorf("%d of %d events walked", walked, len(events))
	}
}
