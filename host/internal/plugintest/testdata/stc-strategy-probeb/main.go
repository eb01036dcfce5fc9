// Command stc-strategy-probeb is one of plugintest's two test strategies.
package main

import "github.com/stc-trading/stc/host/internal/plugintest/testdata/probe"

func main() { probe.Main("probeb") }
