package event

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fastCases are bodies for the fast path of DecodeBatch, each with
// whether the fast path answers for it (fast) or leaves it to
// encoding/json. Either way DecodeBatch must decode it as decodeBatchSlow
// does.
var fastCases = []struct {
	name string
	body string
	fast bool
}{
	{"browser tag page", string(browserBatch(1)), true},
	{"browser tag, 20 pages", string(browserBatch(20)), true},
	{"page, track, identify, alias", batchOf(pageJSON, trackJSON, identifyJSON, aliasJSON), true},
	{"invalid event rejected", batchOf(pageJSON, invalidJSON, trackJSON), true},
	{"only invalid events", batchOf(invalidJSON, invalidJSON), true},
	{"empty batch", `{"batch":[]}`, true},
	{"empty batch with spaces", " \r\n\t{ \"batch\" : [ ] } \n", true},
	{"empty event", batchOf(`{}`), true},
	{"unknown fields skipped", `{"batch":[` + pageJSON + `],"integrations":{"All":true,"n":[1e400,-0.5e-9,{"x":null}]},"extra":"\ud800"}`, true},
	{"unknown event fields skipped", batchOf(`{"type":"page","anonymousId":"a1","integrations":{},"_metadata":{"bundled":["x"]},"options":[true,false,null]}`), true},

	// Strings.
	{"escapes", batchOf(`{"type":"page","anonymousId":"a\"b\\c\/d\b\f\n\r\t","name":"\u00e9\u00E9\ud83d\uded2\u0000\u001f\u2028"}`), true},
	{"escaped keys", `{"writ\u0065Key":"wk","batch":[{"\u0074ype":"page","anonymousId":"a1","properties":{"\ud83d\uded2":"\"","":""}}]}`, true},
	{"lone surrogates", batchOf(`{"type":"page","anonymousId":"\ud800","name":"\udc00x","userId":"\ud800\ud800\udc00","properties":{"a":"\ud800\u0041","b":"\udbff","c":"\udfff\ud800","d":"\ud800\\u0041"}}`), true},
	{"raw invalid UTF-8", batchOf("{\"type\":\"page\",\"anonymousId\":\"a\xff1\",\"name\":\"\xc3\",\"properties\":{\"k\xfe\":\"\xed\xa0\x80\",\"ok\":\"é\xe2\x82\"}}"), true},
	{"raw invalid UTF-8 and escapes", batchOf("{\"type\":\"page\",\"anonymousId\":\"\\n\xff\\u00e9\xf0\x9f\"}"), true},
	{"unicode", batchOf(`{"type":"track","anonymousId":"visiteur-é","event":"Commande passée ✓","properties":{"ville":"Zürich","emoji":"🛒"}}`), true},
	{"control character in a string", batchOf("{\"type\":\"page\",\"anonymousId\":\"a\t1\"}"), false},
	{"bad escape", batchOf(`{"type":"page","anonymousId":"a\x41"}`), false},
	{"short unicode escape", batchOf(`{"type":"page","anonymousId":"\u00g1"}`), false},
	{"unterminated string", `{"batch":[{"type":"page","anonymousId":"a1`, false},

	// Numbers.
	{"numbers", batchOf(`{"type":"page","anonymousId":"a1","properties":{"z":-0,"one":1.0,"big":10000000000000000000000,"tiny":5e-324,"under":1e-400,"e":1E+2,"f":-12.5e-3,"max":1.7976931348623157e308,"int":9007199254740993}}`), true},
	{"number out of range", batchOf(pageJSON, `{"type":"page","anonymousId":"a1","properties":{"n":1e400}}`), false},
	{"negative number out of range", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":-1e400}}`), false},
	{"leading zero", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":01}}`), false},
	{"no digit after the point", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":1.}}`), false},
	{"no digit before the point", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":.5}}`), false},
	{"plus sign", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":+1}}`), false},
	{"bare minus", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":-}}`), false},
	{"empty exponent", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":1e+}}`), false},

	// Nesting.
	{"properties at the depth limit", batchOf(`{"type":"page","anonymousId":"a1","properties":` + nested(MaxDepth, `"leaf"`) + `}`), true},
	{"arrays at the depth limit", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}}`), true},
	{"properties past the depth limit", batchOf(pageJSON, `{"type":"page","anonymousId":"a1","properties":`+nested(MaxDepth+1, `1`)+`}`), true},
	{"properties at the fast path's limit", batchOf(`{"type":"page","anonymousId":"a1","properties":` + nested(maxFastDepth, `1`) + `}`), true},
	{"properties past the fast path's limit", batchOf(`{"type":"page","anonymousId":"a1","properties":` + nested(maxFastDepth+1, `1`) + `}`), false},
	{"traits nested very deep", batchOf(`{"type":"identify","userId":"u1","traits":` + nested(1000, `1`) + `}`), false},
	{"unknown field nested very deep", `{"batch":[],"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, false},
	{"empty containers", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":[],"o":{},"n":[[],{}]},"traits":{},"context":{}}`), true},

	// Null and missing fields.
	{"null fields", batchOf(`{"type":"page","anonymousId":"a1","userId":null,"name":null,"timestamp":null,"sentAt":null,"properties":null,"traits":null,"context":null,"ua":null,"bot":null}`), true},
	{"null envelope fields", `{"writeKey":null,"sentAt":null,"context":null,"batch":[` + pageJSON + `]}`, true},
	{"null event", batchOf(`null`, pageJSON), false},
	{"number event", batchOf(`1`, pageJSON), false},
	{"no batch", `{"writeKey":"wk"}`, false},
	{"empty object", `{}`, false},
	{"batch is null", `{"batch":null}`, false},
	{"batch is an object", `{"batch":{}}`, false},

	// Batch context and sentAt.
	{"batch context merged", `{"context":{"locale":"en-US","library":{"name":"analytics-python"},"ip":"1.2.3.4"},"batch":[` +
		`{"type":"page","anonymousId":"a1","context":{"locale":"fr-FR"}},{"type":"page","anonymousId":"a2"},{"type":"page","anonymousId":"a3","context":null},` + invalidJSON + `]}`, true},
	{"empty batch context", `{"context":{},"batch":[` + pageJSON + `]}`, true},
	{"batch context after the batch", `{"batch":[` + pageJSON + `],"context":{"locale":"en-US"}}`, true},
	{"batch context too deep", `{"context":` + nested(MaxDepth+1, `1`) + `,"batch":[` + pageJSON + `]}`, false},
	{"batch context too large", `{"context":{"pad":"` + strings.Repeat("x", MaxBatchContextBytes) + `"},"batch":[` + pageJSON + `]}`, false},
	{"batch context is a string", `{"context":"x","batch":[` + pageJSON + `]}`, false},
	{"batch context is an array", `{"context":[],"batch":[` + pageJSON + `]}`, false},
	{"batch sentAt inherited", `{"sentAt":"2025-06-15T12:00:05Z","batch":[` + pageJSON + `,{"type":"page","anonymousId":"a1","sentAt":"2025-06-15T11:00:00.5-07:00"}]}`, true},

	// Timestamps.
	{"timestamps", batchOf(`{"type":"page","anonymousId":"a1","timestamp":"2025-06-15T12:00:00.123456789+02:00","sentAt":"2025-06-15T12:00:00Z"}`), true},
	{"timestamp in lower case", batchOf(`{"type":"page","anonymousId":"a1","timestamp":"2025-06-15t12:00:00z"}`), false},
	{"timestamp is a word", batchOf(`{"type":"page","anonymousId":"a1","timestamp":"yesterday"}`), false},
	{"timestamp is a number", batchOf(`{"type":"page","anonymousId":"a1","timestamp":1718000000000}`), false},
	{"timestamp is escaped", batchOf(`{"type":"page","anonymousId":"a1","timestamp":"2025-06-15T12:00:00\u005a"}`), false},
	{"timestamp out of range", batchOf(`{"type":"page","anonymousId":"a1","timestamp":"2025-13-15T12:00:00Z"}`), false},
	{"batch sentAt is a word", `{"sentAt":"now","batch":[` + pageJSON + `]}`, false},

	// Keys.
	{"key differing by case", batchOf(`{"Type":"page","anonymousId":"a1"}`), false},
	{"envelope key differing by case", `{"WriteKey":"wk","batch":[` + pageJSON + `]}`, false},
	{"key folding to a field", batchOf("{\"type\":\"page\",\"anonymousId\":\"a1\",\"\u017fiteId\":\"x\"}"), false},
	{"duplicate field", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":1},"properties":{"b":2}}`), false},
	{"duplicate envelope field", `{"writeKey":"a","writeKey":"b","batch":[]}`, false},
	{"duplicate key in properties", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":1,"a":{"b":2}}}`), true},
	{"duplicate unknown field", batchOf(`{"type":"page","anonymousId":"a1","x":1,"x":2}`), true},

	// Fields of the wrong type.
	{"user id is a number", batchOf(`{"type":"page","anonymousId":"a1","userId":5}`, pageJSON), false},
	{"properties is an array", batchOf(`{"type":"page","anonymousId":"a1","properties":[1,2]}`), false},
	{"write key is a number", `{"writeKey":5,"batch":[]}`, false},

	// Fields only the collector sets.
	{"collector fields", batchOf(`{"type":"page","visitorId":"v1","siteId":"s1","ip":"203.0.113.7","bot":true,"receivedAt":"2025-06-15T12:00:00Z"}`), true},
	{"collector fields, false bot", batchOf(`{"type":"page","anonymousId":"a1","bot":false}`), true},
	{"user agent", batchOf(`{"type":"page","anonymousId":"a1","ua":{"browser":"x"}}`), false},
	{"bot is a string", batchOf(`{"type":"page","anonymousId":"a1","bot":"yes"}`), false},
	{"received at is a word", batchOf(`{"type":"page","anonymousId":"a1","receivedAt":"now"}`), false},

	// Not JSON, or not only JSON.
	{"empty body", ``, false},
	{"trailing garbage", batchOf(pageJSON) + ` x`, false},
	{"two objects", batchOf(pageJSON) + batchOf(pageJSON), false},
	{"truncated", `{"batch":[` + pageJSON, false},
	{"trailing comma", `{"batch":[` + pageJSON + `,]}`, false},
	{"vertical tab around", "\v" + batchOf(pageJSON), false},
	{"NUL after", batchOf(pageJSON) + "\x00", false},
	{"literal cut short", batchOf(`{"type":"page","anonymousId":"a1","bot":tru}`), false},
	{"array", `[` + pageJSON + `]`, false},

	// Sizes.
	{"large body of small events", string(browserBatch(60)), true},
	{"large event in a large body", batchOf(pageJSON, `{"type":"page","anonymousId":"a1","properties":{"pad":"`+strings.Repeat("x", MaxEventBytes)+`"}}`), false},
	{"maximum of events", batchOf(slicesRepeat(pageJSON, MaxBatchEvents)...), true},
	{"one event too many", batchOf(slicesRepeat(pageJSON, MaxBatchEvents+1)...), false},
}

// slicesRepeat returns n copies of s.
func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestDecodeBatchFast(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			fast, ok := decodeBatchFast(body)
			if ok != tc.fast {
				t.Errorf("decodeBatchFast(%q) answers = %v, want %v", clip(tc.body), ok, tc.fast)
			}
			slow, slowErr := decodeBatchSlow(body)
			if ok {
				checkSameBatch(t, body, fast, slow, slowErr)
			}
			got, err := DecodeBatch(body)
			if (err == nil) != (slowErr == nil) || err != nil && err.Error() != slowErr.Error() {
				t.Fatalf("DecodeBatch(%q) = %v, want %v", clip(tc.body), err, slowErr)
			}
			if err == nil {
				checkSameBatch(t, body, got, slow, nil)
			}
		})
	}
}

// FuzzDecodeFast checks the fast path of DecodeBatch against encoding/json:
// whenever it answers, its batch is the one decodeBatchSlow decodes.
//
// It is seeded with the corpus of FuzzDecodeBatch and fastCases.
func FuzzDecodeFast(f *testing.F) {
	for _, body := range readCorpus(f, filepath.Join("testdata", "fuzz", "FuzzDecodeBatch")) {
		f.Add(body)
	}
	for _, tc := range fastCases {
		if len(tc.body) <= 4<<10 { // the fuzzer mutates small bodies best
			f.Add([]byte(tc.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeBatchFast(body)
		if !ok {
			return
		}
		slow, err := decodeBatchSlow(body)
		checkSameBatch(t, body, fast, slow, err)
	})
}

// checkSameBatch fails the test unless the fast path's batch fast is the
// batch slow, with error slowErr, that encoding/json decodes body to: equal
// deeply and, so that -0 and 0 differ, encoded alike.
func checkSameBatch(t *testing.T, body []byte, fast, slow *Batch, slowErr error) {
	t.Helper()
	if slowErr != nil {
		t.Fatalf("decodeBatchFast(%q) answered, but decodeBatchSlow = %v", body, slowErr)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decodeBatchFast(%q) =\n%s\nwant (decodeBatchSlow)\n%s", body, dumpBatch(fast), dumpBatch(slow))
	}
	for i := range fast.Events {
		a, errA := fast.Events[i].AppendJSON(nil)
		b, errB := slow.Events[i].AppendJSON(nil)
		if !bytes.Equal(a, b) || (errA == nil) != (errB == nil) {
			t.Fatalf("decodeBatchFast(%q) event %d encodes to %s (%v), want %s (%v)", body, i, a, errA, b, errB)
		}
	}
}

// dumpBatch describes b for a failure message, with the Go types of its
// values, which JSON would hide.
func dumpBatch(b *Batch) string {
	if b == nil {
		return "<nil>"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "writeKey=%q sentAt=%v index=%v", b.WriteKey, b.SentAt, b.Index)
	for i, e := range b.Events {
		fmt.Fprintf(&sb, "\n  event %d: %#v", b.Index[i], *e)
	}
	for _, r := range b.Rejected {
		fmt.Fprintf(&sb, "\n  rejected %d: %s", r.Index, r.Message)
	}
	return sb.String()
}

// readCorpus returns the bodies of a fuzz corpus directory of
// "go test fuzz v1" files holding one []byte each.
func readCorpus(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var bodies [][]byte
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" ||
			!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
			tb.Fatalf("corpus file %s: not one []byte of go test fuzz v1", entry.Name())
		}
		body, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			tb.Fatalf("corpus file %s: %v", entry.Name(), err)
		}
		bodies = append(bodies, []byte(body))
	}
	if len(bodies) == 0 {
		tb.Fatalf("corpus %s is empty", dir)
	}
	return bodies
}
