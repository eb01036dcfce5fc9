//go:build race

package main

// raceEnabled makes TestMain build the test plugins with -race too: they
// then reuse the race-instrumented packages the test binary was compiled
// with (a cold build otherwise compiles gRPC twice), and races in the
// SDK's server side show up in these tests.
const raceEnabled = true
