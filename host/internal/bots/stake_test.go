package bots

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
)

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// history builds settled trades newest first from outcomes oldest first
// ("W", "L", "D"), each staked at amount with an 80 % payout.
func history(outcomes ...string) []SettledTrade {
	out := make([]SettledTrade, 0, len(outcomes))
	for i := len(outcomes) - 1; i >= 0; i-- {
		t := SettledTrade{Amount: money("10")}
		switch outcomes[i] {
		case "W":
			t.Status, t.Profit = OutcomeWon, money("8")
		case "L":
			t.Status, t.Profit = OutcomeLost, money("-10")
		case "D":
			t.Status = OutcomeDraw
		}
		out = append(out, t)
	}
	return out
}

func TestMartingaleSequence(t *testing.T) {
	t.Parallel()
	p := Progression{Kind: ProgressionMartingale, Multiplier: money("2"), MaxSteps: 3, MaxStake: money("1000")}
	base := money("10")
	cases := []struct {
		name string
		hist []string
		want string
	}{
		{"no history", nil, "10"},
		{"after a win", []string{"L", "W"}, "10"},
		{"one loss", []string{"W", "L"}, "20"},
		{"two losses", []string{"L", "L"}, "40"},
		{"three losses: the last step", []string{"L", "L", "L"}, "80"},
		{"four losses: reset", []string{"L", "L", "L", "L"}, "10"},
		{"five losses: the cycle again", []string{"L", "L", "L", "L", "L"}, "20"},
		{"draws neither break nor extend", []string{"L", "D", "L", "D"}, "40"},
		{"a win resets", []string{"L", "L", "W"}, "10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, p.stake(base, history(c.hist...)).String())
		})
	}
}

func TestMartingaleCaps(t *testing.T) {
	t.Parallel()
	p := Progression{Kind: ProgressionMartingale, Multiplier: money("2.5"), MaxSteps: 10, MaxStake: money("100")}
	// 10, 25, 62.5, then 156.25 capped at 100, and so on until the reset.
	want := []string{"10", "25", "62.5", "100", "100", "100", "100", "100", "100", "100", "100", "10"}
	var hist []string
	for i, w := range want {
		assert.Equal(t, w, p.stake(money("10"), history(hist...)).String(), "after %d losses", i)
		hist = append(hist, "L")
	}
	// Stakes are rounded to cents: 10 × 1.333^2 = 17.76889.
	q := Progression{Kind: ProgressionMartingale, Multiplier: money("1.333"), MaxSteps: 5, MaxStake: money("100")}
	assert.Equal(t, "17.77", q.stake(money("10"), history("L", "L")).String())
}

func TestSorosSequence(t *testing.T) {
	t.Parallel()
	p := Progression{Kind: ProgressionSoros, MaxSteps: 2, MaxStake: money("1000")}
	base := money("10")
	// Real soros history: each win's profit is 80 % of its stake.
	steps := []struct {
		outcome string
		stake   string
	}{
		{"", "10"},    // start
		{"W", "18"},   // 10 + 8
		{"W", "32.4"}, // 18 + 14.4
		{"W", "10"},   // third win: profits banked, reset
		{"W", "18"},
		{"L", "10"}, // a loss resets
		{"D", "10"}, // a draw changes nothing
		{"W", "18"},
		{"D", "18"},
	}
	var hist []SettledTrade // newest first
	stake := base
	for i, s := range steps {
		if s.outcome != "" {
			tr := SettledTrade{Amount: stake}
			switch s.outcome {
			case "W":
				tr.Status, tr.Profit = OutcomeWon, stake.Mul(money("0.8"))
			case "L":
				tr.Status, tr.Profit = OutcomeLost, stake.Neg()
			case "D":
				tr.Status = OutcomeDraw
			}
			hist = append([]SettledTrade{tr}, hist...)
		}
		stake = p.stake(base, hist)
		assert.Equal(t, s.stake, stake.String(), "step %d", i)
	}
	capped := Progression{Kind: ProgressionSoros, MaxSteps: 5, MaxStake: money("15")}
	assert.Equal(t, "15", capped.stake(base, history("W")).String())
}

func TestNoProgression(t *testing.T) {
	t.Parallel()
	p := Progression{Kind: ProgressionNone}
	assert.Equal(t, 0, p.historyNeeded())
	assert.Equal(t, "10", p.stake(money("10"), history("L", "L")).String())
}
