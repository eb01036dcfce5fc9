//go:build race

package trading

// raceEnabled makes TestMain build the paper plugin with -race too, so it
// reuses the race-instrumented packages of the test binary and races in
// the plugin crash it.
const raceEnabled = true
