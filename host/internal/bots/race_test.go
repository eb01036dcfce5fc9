//go:build race

package bots_test

// raceEnabled makes TestMain build the plugins with -race too.
const raceEnabled = true
