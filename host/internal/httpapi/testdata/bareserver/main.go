// Command bareserver is the baseline of the HTTP benchmark: a bare
// net/http handler that writes fixed bytes (the same answer STC serves),
// so the ratio shows what routing, middleware and caching cost.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: bareserver ADDR BODY_FILE [content-length]")
		os.Exit(2)
	}
	body, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// With "content-length" the baseline also sets Content-Length, as STC
	// does, so the comparison isolates routing and middleware.
	withLength := len(os.Args) == 4 && os.Args[3] == "content-length"
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Addr:              os.Args[1],
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if withLength {
				w.Header().Set("Content-Length", length)
			}
			_, _ = w.Write(body)
		}),
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
