package plugin

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/internal/convert"
)

// Panic recovery per RPC: a panic in one instance's code must not kill a
// process that serves every other user's instances. The panic becomes an
// error with reason PLUGIN_PANIC and a logged stack.

func unaryRecover(log hclog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in plugin RPC", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				resp, err = nil, convert.ToStatus(fmt.Errorf("%w in %s: %v", convert.ErrPluginPanic, info.FullMethod, r))
			}
		}()
		return handler(withLogger(ctx, log), req)
	}
}

type loggedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *loggedStream) Context() context.Context { return s.ctx }

func streamRecover(log hclog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in plugin stream", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = convert.ToStatus(fmt.Errorf("%w in %s: %v", convert.ErrPluginPanic, info.FullMethod, r))
			}
		}()
		return handler(srv, &loggedStream{ServerStream: ss, ctx: withLogger(ss.Context(), log)})
	}
}

// safeCall runs f and turns a panic into an error, for author code that the
// SDK calls outside the RPC goroutine (batch workers, stream pumps).
func safeCall(log hclog.Logger, what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic in plugin code", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w in %s: %v", convert.ErrPluginPanic, what, r)
		}
	}()
	return f()
}
