package paper

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
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

// ConfigFromEnv reads the STC_PAPER_* variables through getenv (os.Getenv in
// production, a map in tests) and applies the defaults. It rejects values
// that do not parse instead of silently falling back, because a typo in a
// time scale or seed would otherwise give a different market than intended.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		DataDir:          DefaultDataDir,
		TimeScale:        DefaultTimeScale,
		Seed:             DefaultSeed,
		SecondFactorCode: DefaultSecondFactorCode,
	}
	var errs []error
	if v := strings.TrimSpace(getenv("STC_PAPER_DATA_DIR")); v != "" {
		cfg.DataDir = v
	}
	if v := strings.TrimSpace(getenv("STC_PAPER_TIME_SCALE")); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !validScale(x) {
			errs = append(errs, fmt.Errorf("paper: STC_PAPER_TIME_SCALE must be a finite number > 0 (market seconds per wall second), got %q", v))
		} else {
			cfg.TimeScale = x
		}
	}
	if v := strings.TrimSpace(getenv("STC_PAPER_SEED")); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("paper: STC_PAPER_SEED must be an unsigned integer, got %q: %w", v, err))
		} else {
			cfg.Seed = n
		}
	}
	if v := strings.TrimSpace(getenv("STC_PAPER_REQUIRE_2FA")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("paper: STC_PAPER_REQUIRE_2FA must be true or false, got %q: %w", v, err))
		} else {
			cfg.Require2FA = b
		}
	}
	if v := getenv("STC_PAPER_2FA_CODE"); v != "" {
		cfg.SecondFactorCode = v
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
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
