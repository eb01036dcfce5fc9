package bots

import (
	"strconv"

	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/market"
)

// ChunkInstances shows tests how the dispatcher would split bots (the
// i-th with handles[i] and warmups[i]) into BatchOnCandle messages: the
// bots' indexes per message.
func ChunkInstances(handles []*pluginmgr.StrategyHandle, warmups []int, window market.Series, limit int) [][]int {
	reps := make([]*runBot, len(handles))
	for i, h := range handles {
		reps[i] = &runBot{handle: h, warmup: warmups[i], instance: "bot-" + strconv.Itoa(i)}
	}
	var out [][]int
	for _, ch := range chunkReps(reps, window, limit) {
		out = append(out, ch.idx)
	}
	return out
}
