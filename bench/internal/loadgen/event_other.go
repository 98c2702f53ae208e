//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

// A RawSender is a Sender whose requests the event loop can send over
// sockets of its own (see event.go, Linux only).
type RawSender interface {
	Sender
	AppendRequest(dst []byte) []byte
	Check() Check
}

// EventLoop needs Linux's epoll and timerfd.
type EventLoop struct {
	Addr    string
	Threads int
}

// Run fails: the event loop needs Linux.
func (EventLoop) Run(context.Context, Schedule, []RawSender) (*OpenResult, error) {
	return nil, errors.New("the event loop needs Linux: use the go open loop")
}
