package trading

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
)

// riskScope is whose trades a set of limits counts: the user's (botID 0)
// or one bot's.
type riskScope struct {
	userID, botID int64
}

func (sc riskScope) refuse(rule, format string, args ...any) error {
	who := "your"
	if sc.botID != 0 {
		who = "the bot's"
	}
	return &RiskError{Rule: rule, Message: who + " " + fmt.Sprintf(format, args...)}
}

// dayStart is the start of now's UTC day.
func dayStart(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// riskNeed is one scope whose limits an insert transaction checks.
type riskNeed struct {
	scope  riskScope
	limits Limits
}

// riskState is what the limits of one scope are checked against: its
// trades as they were when the transaction read them, plus the trades the
// transaction has accepted since (add).
type riskState struct {
	open, today int
	// loss is today's realized loss (losses minus wins).
	loss decimal.Decimal
	// recent are the last settled results, newest first, as many as the
	// cool-down rule looks at.
	recent []recentResult
}

type recentResult struct {
	Status    string `db:"status"`
	SettledAt int64  `db:"settled_at"`
}

// add counts one more accepted trade.
func (st *riskState) add() { st.open++; st.today++ }

// check applies limits l of scope sc to req at host time now.
func (st *riskState) check(sc riskScope, l Limits, req PlaceRequest, now time.Time) error {
	if l.MaxStake.IsPositive() && req.Amount.GreaterThan(l.MaxStake) {
		return sc.refuse(RuleMaxStake, "maximum stake is %s", l.MaxStake)
	}
	if l.MaxOpenTrades > 0 && st.open >= l.MaxOpenTrades {
		return sc.refuse(RuleMaxOpenTrades, "limit of %d open trades is reached", l.MaxOpenTrades)
	}
	if l.MaxTradesPerDay > 0 && st.today >= l.MaxTradesPerDay {
		return sc.refuse(RuleMaxTradesPerDay, "limit of %d trades a day (UTC) is reached", l.MaxTradesPerDay)
	}
	if l.MaxDailyLoss.IsPositive() && st.loss.GreaterThanOrEqual(l.MaxDailyLoss) {
		return sc.refuse(RuleMaxDailyLoss, "daily loss limit of %s is reached (lost %s today, UTC)", l.MaxDailyLoss, st.loss)
	}
	if l.CooldownLosses > 0 && l.Cooldown > 0 && len(st.recent) >= l.CooldownLosses {
		streak := true
		for _, x := range st.recent[:l.CooldownLosses] {
			streak = streak && x.Status == string(StatusLost)
		}
		if streak {
			until := time.UnixMilli(st.recent[0].SettledAt).Add(l.Cooldown)
			if now.Before(until) {
				return sc.refuse(RuleCooldown, "cool-down after %d losses in a row lasts until %s", l.CooldownLosses, until.UTC().Format(time.RFC3339))
			}
		}
	}
	return nil
}

// loadRisk reads the risk state of every scope in needs, with one query
// per kind of limit for all of them (not one per scope and order), and
// only the queries some scope's limits need. It runs in the insert
// transaction, after the users' locks.
func (s *Service) loadRisk(tx *sqlx.Tx, needs []riskNeed, now time.Time) (map[riskScope]*riskState, error) {
	out := make(map[riskScope]*riskState, len(needs))
	var openUsers, todayUsers, lossUsers []int64
	seen := [3]map[int64]bool{{}, {}, {}}
	want := func(list *[]int64, k int, userID int64) {
		if !seen[k][userID] {
			seen[k][userID] = true
			*list = append(*list, userID)
		}
	}
	for _, n := range needs {
		if out[n.scope] == nil {
			out[n.scope] = &riskState{}
		}
		if n.limits.MaxOpenTrades > 0 {
			want(&openUsers, 0, n.scope.userID)
		}
		if n.limits.MaxTradesPerDay > 0 {
			want(&todayUsers, 1, n.scope.userID)
		}
		if n.limits.MaxDailyLoss.IsPositive() {
			want(&lossUsers, 2, n.scope.userID)
		}
	}
	// Each query groups by user and bot: a user's total is the sum over
	// its bots (and manual trades), a bot's is its own group.
	addCounts := func(rows []scopeCount, f func(*riskState, scopeCount)) {
		for _, r := range rows {
			if st := out[riskScope{userID: r.UserID}]; st != nil {
				f(st, r)
			}
			if r.BotID.Valid {
				if st := out[riskScope{userID: r.UserID, botID: r.BotID.Int64}]; st != nil {
					f(st, r)
				}
			}
		}
	}
	today := dayStart(now).UnixMilli()
	if len(openUsers) > 0 {
		rows, err := selectIn[scopeCount](tx, `SELECT user_id, bot_id, count(*) AS n FROM trades
			WHERE user_id IN (?) AND status IN `+activeStatuses+` GROUP BY user_id, bot_id`, openUsers)
		if err != nil {
			return nil, fmt.Errorf("trading: count open trades: %w", err)
		}
		addCounts(rows, func(st *riskState, r scopeCount) { st.open += r.N })
	}
	if len(todayUsers) > 0 {
		rows, err := selectIn[scopeCount](tx, `SELECT user_id, bot_id, count(*) AS n FROM trades
			WHERE user_id IN (?) AND created_at >= ? AND status <> 'rejected' GROUP BY user_id, bot_id`, todayUsers, today)
		if err != nil {
			return nil, fmt.Errorf("trading: count today's trades: %w", err)
		}
		addCounts(rows, func(st *riskState, r scopeCount) { st.today += r.N })
	}
	if len(lossUsers) > 0 {
		// PostgreSQL sums NUMERIC exactly; SQLite's SUM over TEXT money
		// would go through floating point, so there the rows are summed
		// here.
		q := `SELECT user_id, bot_id, profit FROM trades
			WHERE user_id IN (?) AND settled_at >= ? AND status IN ('won', 'lost', 'draw')`
		if s.postgres {
			q = `SELECT user_id, bot_id, sum(profit) AS profit FROM trades
			WHERE user_id IN (?) AND settled_at >= ? AND status IN ('won', 'lost', 'draw') GROUP BY user_id, bot_id`
		}
		rows, err := selectIn[scopeCount](tx, q, lossUsers, today)
		if err != nil {
			return nil, fmt.Errorf("trading: read today's results: %w", err)
		}
		addCounts(rows, func(st *riskState, r scopeCount) { st.loss = st.loss.Sub(r.Profit.Decimal) })
	}
	// The cool-down looks at each scope's last few results: one small
	// indexed query per scope that has the rule, which few do.
	for _, n := range needs {
		l := n.limits
		st := out[n.scope]
		if l.CooldownLosses <= 0 || l.Cooldown <= 0 || len(st.recent) >= l.CooldownLosses {
			continue
		}
		where, args := `user_id = ?`, []any{n.scope.userID}
		if n.scope.botID != 0 {
			where, args = `user_id = ? AND bot_id = ?`, append(args, n.scope.botID)
		}
		st.recent = st.recent[:0]
		if err := tx.Select(&st.recent, tx.Rebind(`SELECT status, settled_at FROM trades WHERE `+where+
			` AND status IN ('won', 'lost', 'draw') ORDER BY settled_at DESC, id DESC LIMIT ?`), append(args, l.CooldownLosses)...); err != nil {
			return nil, fmt.Errorf("trading: read recent results: %w", err)
		}
	}
	return out, nil
}

// checkRisk checks req against its user's limits and, for a bot, the
// request's bot limits.
func (s *Service) checkRisk(tx *sqlx.Tx, req PlaceRequest, userLimits Limits, now time.Time) error {
	needs := riskNeeds(req, userLimits)
	states, err := s.loadRisk(tx, needs, now)
	if err != nil {
		return err
	}
	for _, n := range needs {
		if err := states[n.scope].check(n.scope, n.limits, req, now); err != nil {
			return err
		}
	}
	return nil
}

// riskNeeds are the scopes whose limits apply to req: the user's, then the
// bot's.
func riskNeeds(req PlaceRequest, userLimits Limits) []riskNeed {
	needs := []riskNeed{{scope: riskScope{userID: req.UserID}, limits: userLimits}}
	if req.BotID != 0 {
		needs = append(needs, riskNeed{scope: riskScope{userID: req.UserID, botID: req.BotID}, limits: req.BotLimits})
	}
	return needs
}

// scopeCount is one (user, bot) group of a risk query.
type scopeCount struct {
	UserID int64               `db:"user_id"`
	BotID  sql.NullInt64       `db:"bot_id"`
	N      int                 `db:"n"`
	Profit decimal.NullDecimal `db:"profit"`
}

// selectIn runs q, whose first ? is expanded to the list ids, and scans
// the rows into T.
func selectIn[T any](tx *sqlx.Tx, q string, ids []int64, args ...any) ([]T, error) {
	q, all, err := sqlx.In(q, append([]any{ids}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := tx.Select(&out, tx.Rebind(q), all...); err != nil {
		return nil, err
	}
	return out, nil
}
