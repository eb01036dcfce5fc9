//go:build race

package skeleton_test

const raceEnabled = true
