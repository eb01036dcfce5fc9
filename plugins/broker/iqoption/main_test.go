package iqoption_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine of the adapter and the fake is owned and stopped: none
// may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
