package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// maxAnswerHead bounds an answer's status line and headers: a server that
// sends more without ending them is broken, not slow.
const maxAnswerHead = 16 << 10

// errIncomplete says an answer has not all arrived yet.
var errIncomplete = errors.New("incomplete answer")

// answer is an HTTP/1.1 answer parsed by parseAnswer.
type answer struct {
	code  int
	body  []byte // within the buffer parsed
	size  int    // bytes of the buffer the answer took
	close bool   // the server closes the connection after it
}

// parseAnswer parses the HTTP/1.1 answer at the start of b, the bytes
// received so far on a connection with one request in flight. It returns
// errIncomplete while b holds only part of it, and another error when b
// cannot be an answer this load generator understands: no status line, a
// body framed other than by Content-Length (chunked, or until the
// connection closes), a head longer than maxAnswerHead. HEAD requests,
// 1xx answers and pipelining are not supported: the load generators send
// one POST or GET at a time. Header names are matched regardless of case,
// as RFC 9110 says.
func parseAnswer(b []byte) (answer, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 && len(b) < maxAnswerHead+4 { // the end may yet come within the bound
		return answer{}, errIncomplete
	}
	if end < 0 || end > maxAnswerHead {
		return answer{}, fmt.Errorf("answer head longer than %d bytes", maxAnswerHead)
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	// "HTTP/1.1 200 OK": the version, a space, three digits, then a space
	// and a reason, or nothing.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return answer{}, fmt.Errorf("bad status line %q", truncate(line))
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 200 || code > 599 {
		return answer{}, fmt.Errorf("bad status line %q", truncate(line))
	}
	a := answer{code: code, close: line[7] == '0'} // HTTP/1.0 closes unless told otherwise
	length := -1
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || len(name) == 0 {
			return answer{}, fmt.Errorf("bad header line %q", truncate(field))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseUint(string(value), 10, 31)
			if err != nil || (length >= 0 && int(n) != length) {
				return answer{}, fmt.Errorf("bad Content-Length %q", truncate(value))
			}
			length = int(n)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return answer{}, fmt.Errorf("Transfer-Encoding %q is not supported", truncate(value))
		case bytes.EqualFold(name, []byte("Connection")):
			switch {
			case bytes.EqualFold(value, []byte("close")):
				a.close = true
			case bytes.EqualFold(value, []byte("keep-alive")):
				a.close = false
			}
		}
	}
	if length < 0 {
		if code != 204 && code != 304 {
			return answer{}, fmt.Errorf("%d answer without Content-Length", code)
		}
		length = 0
	}
	start := end + 4
	if len(b)-start < length {
		return answer{}, errIncomplete
	}
	a.body = b[start : start+length]
	a.size = start + length
	return a, nil
}

// truncate shortens b for an error message.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
