package loadgen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		code     int
		body     string
		close    bool
		err      string // in the error; "" for none
	}{
		{name: "204", in: "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", code: 204},
		{name: "200 with a body", in: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"accepted\":1}", code: 200, body: `{"accepted":1}`},
		{name: "header names in any case", in: "HTTP/1.1 201 Created\r\ncontent-length:  2 \r\nCONNECTION: Close\r\n\r\nok", code: 201, body: "ok", close: true},
		{name: "no reason phrase", in: "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", code: 503},
		{name: "HTTP/1.0 closes", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", code: 200, close: true},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", code: 200},
		{name: "bytes after the answer", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP", code: 200, body: "ok"},
		{name: "head not ended", in: "HTTP/1.1 200 OK\r\nContent-Len", err: errIncomplete.Error()},
		{name: "body not all there", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", err: errIncomplete.Error()},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", err: "Transfer-Encoding"},
		{name: "no length", in: "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nok", err: "without Content-Length"},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: "Content-Length"},
		{name: "two lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", err: "Content-Length"},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", err: "status line"},
		{name: "1xx", in: "HTTP/1.1 100 Continue\r\n\r\n", err: "status line"},
		{name: "status not a number", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: "status line"},
		{name: "header without a colon", in: "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", err: "header line"},
		{name: "head too long", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxAnswerHead) + "\r\n", err: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAnswer([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseAnswer(%q) = %+v, %v; want an error with %q", tc.in, a, err, tc.err)
				}
				return
			}
			if err != nil || a.code != tc.code || string(a.body) != tc.body || a.close != tc.close {
				t.Fatalf("parseAnswer(%q) = %+v (body %q), %v; want %d %q close=%t", tc.in, a, a.body, err, tc.code, tc.body, tc.close)
			}
			if end := strings.Index(tc.in, tc.body) + len(tc.body); tc.body != "" && a.size != end {
				t.Fatalf("size %d, want %d", a.size, end)
			}
			checkPrefixes(t, []byte(tc.in), a)
		})
	}
}

// checkPrefixes holds parseAnswer to what the event loop relies on: every
// proper prefix of a whole answer is incomplete, so that an answer read in
// parts is parsed once, whole.
func checkPrefixes(t *testing.T, b []byte, a answer) {
	t.Helper()
	for k := range a.size {
		if _, err := parseAnswer(b[:k]); !errors.Is(err, errIncomplete) {
			t.Fatalf("the first %d of %d bytes %q: %v, want incomplete", k, a.size, b[:k], err)
		}
	}
}

// FuzzParseAnswer checks that no input makes parseAnswer panic, that an
// answer it accepts lies within its input, and that its prefixes are
// incomplete.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"accepted\":1}"))
	f.Add([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 503 Busy\r\nConnection: keep-alive\r\ncontent-length: 3\r\n\r\nbusy"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAnswer(b)
		if err != nil {
			return
		}
		if a.size > len(b) || a.code < 200 || a.code > 599 || !bytes.HasSuffix(b[:a.size], a.body) {
			t.Fatalf("parseAnswer(%q) = %+v", b, a)
		}
		checkPrefixes(t, b, a)
	})
}
