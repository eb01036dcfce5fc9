//go:build !race

package iqoption_test

const raceEnabled = false
