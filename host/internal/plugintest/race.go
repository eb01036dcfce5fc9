//go:build race

package plugintest

// raceEnabled: this package was compiled with -race, so the test binary
// was, and its plugins are built the same way.
const raceEnabled = true
