// Package sseclient reads a Server-Sent Events stream frame by frame. The
// stream's tests, the end-to-end tests and the stream benchmark read
// GET /api/v2/stream with it; it follows the WHATWG event-stream format
// (fields id, event, data and retry; comments; frames end at a blank line)
// and nothing more.
package sseclient

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Frame is one block of the stream up to a blank line.
type Frame struct {
	// ID is the id field, HasID whether the frame had one.
	ID    string
	HasID bool
	// Event is the event name ("" for a frame without one: an id or
	// retry frame, or comments only).
	Event string
	// Data is the data fields joined by newlines.
	Data string
	// Comments are the comment lines without their leading colon.
	Comments []string
	// Retry is the retry field in milliseconds, or 0.
	Retry int
}

// Reader reads frames.
type Reader struct{ sc *bufio.Scanner }

// New reads frames from r.
func New(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return &Reader{sc: sc}
}

// Next returns the next frame; io.EOF when the stream ended cleanly.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	var data []string
	seen := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if !seen {
				continue
			}
			f.Data = strings.Join(data, "\n")
			return f, nil
		}
		seen = true
		if strings.HasPrefix(line, ":") {
			f.Comments = append(f.Comments, strings.TrimPrefix(strings.TrimPrefix(line, ":"), " "))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			f.ID, f.HasID = value, true
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			f.Retry, _ = strconv.Atoi(value)
		}
	}
	if err := r.sc.Err(); err != nil {
		return f, err
	}
	return f, io.EOF
}

// NextEvent returns the next frame that carries an event, skipping
// comment-only and id-only frames.
func (r *Reader) NextEvent() (Frame, error) {
	for {
		f, err := r.Next()
		if err != nil || f.Event != "" {
			return f, err
		}
	}
}
