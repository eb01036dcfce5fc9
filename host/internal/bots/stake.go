package bots

import (
	"github.com/shopspring/decimal"
)

// Progressions are derived from the bot's settled trades, newest first, so
// their state survives every restart without a column of its own: the
// trades are the state.
//
// Martingale: after k consecutive losses the stake is base × multiplier^k.
// The streak counts at most MaxSteps losses: the (MaxSteps+1)-th loss in a
// row starts over at the base amount, so a losing run cannot escalate
// without bound. Every stake is capped at MaxStake.
//
// Soros: after k consecutive wins the stake is base plus the profit of
// those k wins (each win's profit is reinvested). The (MaxSteps+1)-th win
// in a row banks the profit and starts over at base. Capped at MaxStake.
//
// Draws refund the stake and change nothing: they neither extend nor break
// a streak. Trades still open are not yet known and do not count, so with
// an expiration longer than the timeframe a stake may be computed before
// the previous trade settled; the caps hold either way.

// progressionHistory is how many settled trades a progression reads. The
// cycle position is the streak modulo MaxSteps+1, so a streak longer than
// this window (a hundred losses in a row) would be counted as the window's
// length; the caps hold regardless.
const progressionHistory = 100

// historyNeeded is how many settled trades the progression looks at.
func (p Progression) historyNeeded() int {
	if p.Kind == ProgressionNone || p.Kind == "" {
		return 0
	}
	return progressionHistory
}

// stake returns the amount of the next order for base and the bot's recent
// settled trades (newest first).
func (p Progression) stake(base decimal.Decimal, recent []SettledTrade) decimal.Decimal {
	switch p.Kind {
	case ProgressionMartingale:
		losses := streak(recent, OutcomeLost, nil)
		step := losses % (p.MaxSteps + 1)
		amount := base
		for range step {
			amount = amount.Mul(p.Multiplier)
		}
		return capStake(amount, p.MaxStake)
	case ProgressionSoros:
		var profits []decimal.Decimal
		wins := streak(recent, OutcomeWon, &profits)
		step := wins % (p.MaxSteps + 1)
		amount := base
		// The reinvested profits are those of the current cycle's wins: the
		// newest step ones.
		for _, pr := range profits[:step] {
			amount = amount.Add(pr)
		}
		return capStake(amount, p.MaxStake)
	}
	return base
}

// streak counts the newest consecutive trades with outcome, skipping
// draws, and collects their profits newest first when profits is set.
func streak(recent []SettledTrade, outcome string, profits *[]decimal.Decimal) int {
	n := 0
scan:
	for _, t := range recent {
		switch t.Status {
		case OutcomeDraw:
		case outcome:
			n++
			if profits != nil {
				*profits = append(*profits, t.Profit)
			}
		default:
			break scan
		}
	}
	return n
}

// capStake rounds to cents (brokers take at most two decimals) and applies
// the cap.
func capStake(amount, maxStake decimal.Decimal) decimal.Decimal {
	amount = amount.Round(2)
	if maxStake.IsPositive() && amount.GreaterThan(maxStake) {
		return maxStake
	}
	return amount
}
