package plugin

import "github.com/stc-trading/stc/sdk/internal/convert"

// RefusalMessage returns what a plugin said when it refused a
// configuration: a strategy's parameters or a broker's credentials that
// its own rules do not accept (errors.Is(err, schema.ErrInvalid) holds for
// such an error in the host). The message is the plugin's explanation for
// the person who sent the values, without the SDK's wrapping and without
// anything the host added; ok is false when err is not such a refusal.
func RefusalMessage(err error) (msg string, ok bool) { return convert.RefusalMessage(err) }
