package paper

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// Defaults of Config, applied by ConfigFromEnv (and by New for the zero
// values that have an obvious meaning).
const (
	DefaultDataDir                 = "./data/paper"
	DefaultTimeScale               = 1.0
	DefaultSeed             uint64 = 1
	DefaultSecondFactorCode        = "000000"
)

// Config configures one paper Market. The zero value is not usable on its
// own: DataDir must be set (ConfigFromEnv fills it in).
type Config struct {
	// DataDir holds the account logs and the clock mark. One Market owns it
	// at a time (New takes an exclusive lock on it).
	DataDir string
	// TimeScale is market seconds per wall second: 1 is real time, 60 runs
	// one market minute per wall second. Zero means 1; it must be finite
	// and > 0 otherwise.
	TimeScale float64
	// Seed selects the price paths: the same seed gives the same prices in
	// every process, so a changed seed is a different (simulated) market.
	Seed uint64
	// Require2FA makes Open ask for the second factor in the "code"
	// credential, so hosts can exercise their 2FA flow against paper.
	Require2FA bool
	// SecondFactorCode is the only accepted code; empty means "000000".
	SecondFactorCode string
	// Now is the wall clock; nil means time.Now. Tests inject a fake to
	// drive market time deterministically.
	Now func() time.Time
}

// Settings are the operator settings the paper plugin declares: the host
// passes each as STC_PAPER_<NAME> (STC_PAPER_TIME_SCALE, STC_PAPER_SEED,
// STC_PAPER_REQUIRE_2FA, STC_PAPER_2FA_CODE) when the operator sets it.
// Its data directory is the host's STC_PLUGIN_DATA_DIR.
var Settings = []plugin.Setting{
	{Name: "time_scale", Type: schema.Float, Default: "1", Min: schema.Bound(minTimeScale), Max: schema.Bound(maxTimeScale),
		Description: "market seconds per wall second: 1 is real time, 60 runs one market minute per second"},
	// A string: seeds span the whole uint64 range, schema integers int64.
	{Name: "seed", Type: schema.String, Default: strconv.FormatUint(DefaultSeed, 10),
		Description: "price paths: the same seed gives the same prices in every process; another seed is another market"},
	{Name: "require_2fa", Type: schema.Bool, Default: "false",
		Description: "ask for a second factor (the code credential) at login, to try a host's 2FA flow"},
	{Name: "2fa_code", Type: schema.String, Default: DefaultSecondFactorCode, Sensitive: true,
		Description: "the only second-factor code accepted when require_2fa is on"},
}

// Bounds of the time_scale setting: slower than a market second per 17
// wall minutes or faster than a market day per wall second is a mistake.
const (
	minTimeScale = 0.001
	maxTimeScale = 86400
)

// ConfigFromEnv reads the paper plugin's settings (see Settings) and its
// data directory through getenv (os.Getenv in production, a map in tests)
// and applies the defaults. The data directory is STC_PLUGIN_DATA_DIR (set
// by the host), else STC_PAPER_DATA_DIR (the older name, for a plugin run
// by other means), else DefaultDataDir. It rejects values that do not
// parse instead of silently falling back, because a typo in a time scale
// or seed would otherwise give a different market than intended.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	s, err := plugin.LoadSettings(Name, Settings, getenv)
	if err != nil {
		return Config{}, fmt.Errorf("paper: %w", err)
	}
	cfg := Config{
		DataDir:          DefaultDataDir,
		TimeScale:        s.Float("time_scale"),
		Require2FA:       s.Bool("require_2fa"),
		SecondFactorCode: s.String("2fa_code"),
	}
	for _, k := range []string{plugin.DataDirEnv, "STC_PAPER_DATA_DIR"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			cfg.DataDir = v
			break
		}
	}
	seed, err := strconv.ParseUint(s.String("seed"), 10, 64)
	if err != nil {
		return Config{}, fmt.Errorf("paper: STC_PAPER_SEED must be an unsigned integer, got %q: %w", s.String("seed"), err)
	}
	cfg.Seed = seed
	return cfg, nil
}

func validScale(x float64) bool { return x > 0 && !math.IsInf(x, 0) && !math.IsNaN(x) }

// normalize applies the zero-value defaults and validates cfg.
func (cfg Config) normalize() (Config, error) {
	if strings.TrimSpace(cfg.DataDir) == "" {
		return Config{}, errors.New("paper: Config.DataDir is required")
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = DefaultTimeScale
	}
	if !validScale(cfg.TimeScale) {
		return Config{}, fmt.Errorf("paper: Config.TimeScale must be a finite number > 0, got %v", cfg.TimeScale)
	}
	if cfg.SecondFactorCode == "" {
		cfg.SecondFactorCode = DefaultSecondFactorCode
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
